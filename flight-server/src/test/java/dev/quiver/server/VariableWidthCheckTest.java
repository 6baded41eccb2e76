package dev.quiver.server;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.LargeVarCharVector;
import org.apache.arrow.vector.VarBinaryVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.BaseVariableWidthVector;
import org.junit.jupiter.api.Test;

/** Received strings against the JDK's strict UTF-8 decoder as the oracle. */
class VariableWidthCheckTest {

  private static boolean jdkAccepts(byte[] b) {
    try {
      StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b));
      return true;
    } catch (CharacterCodingException e) {
      return false;
    }
  }

  /** Mostly well-formed text with occasional arbitrary bytes and cut characters. */
  private static byte[] value(Random r, boolean asciiOnly) {
    StringBuilder sb = new StringBuilder();
    int chars = r.nextInt(12);
    for (int c = 0; c < chars; c++) {
      int kind = asciiOnly ? 0 : r.nextInt(4);
      sb.appendCodePoint(kind == 0 ? 'a' + r.nextInt(26) : kind == 1 ? 0xE9 : kind == 2 ? 0x20AC : 0x1F600);
    }
    byte[] b = sb.toString().getBytes(StandardCharsets.UTF_8);
    if (b.length > 0 && r.nextInt(8) == 0) {
      b[r.nextInt(b.length)] = (byte) r.nextInt(256);
    }
    if (b.length > 1 && r.nextInt(10) == 0) {
      b = java.util.Arrays.copyOf(b, b.length - 1);
    }
    return b;
  }

  private static void fill(BaseVariableWidthVector v, byte[][] values, boolean[] nulls) {
    v.allocateNew();
    for (int i = 0; i < values.length; i++) {
      if (nulls != null && nulls[i]) {
        v.setNull(i);
      } else {
        v.setSafe(i, values[i]);
      }
    }
    v.setValueCount(values.length);
  }

  @Test
  void agreesWithTheJdkDecoderOnRandomValuesWithAndWithoutNulls() {
    Random r = new Random(11);
    try (BufferAllocator a = new RootAllocator(64 << 20)) {
      for (int round = 0; round < 400; round++) {
        int n = 1 + r.nextInt(40);
        byte[][] values = new byte[n][];
        boolean[] nulls = round % 2 == 0 ? null : new boolean[n];
        boolean valid = true;
        // Every fourth round is ASCII text (with the odd arbitrary byte): the check's shortcut.
        boolean asciiOnly = round % 4 == 3;
        for (int i = 0; i < n; i++) {
          values[i] = value(r, asciiOnly);
          if (nulls != null) {
            nulls[i] = r.nextInt(5) == 0;
          }
          if (nulls == null || !nulls[i]) {
            valid &= jdkAccepts(values[i]);
          }
        }
        try (VarCharVector v = new VarCharVector("s", a)) {
          fill(v, values, nulls);
          if (valid) {
            assertDoesNotThrow(() -> VariableWidthCheck.check(v), "round " + round);
          } else {
            assertThrows(IllegalArgumentException.class, () -> VariableWidthCheck.check(v), "round " + round);
          }
        }
      }
      assertEquals(0, a.getAllocatedMemory());
    }
  }

  @Test
  void eachValueMustBeWellFormedNotOnlyTheirConcatenation() {
    byte[] e = "é".getBytes(StandardCharsets.UTF_8);
    try (BufferAllocator a = new RootAllocator(1 << 20);
         VarCharVector v = new VarCharVector("s", a);
         LargeVarCharVector large = new LargeVarCharVector("l", a);
         VarBinaryVector binary = new VarBinaryVector("b", a)) {
      fill(v, new byte[][] {{e[0]}, {e[1]}}, null);
      assertThrows(IllegalArgumentException.class, () -> VariableWidthCheck.check(v));
      large.allocateNew();
      large.setSafe(0, new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80}); // a surrogate
      large.setValueCount(1);
      assertThrows(IllegalArgumentException.class, () -> VariableWidthCheck.check(large));
      fill(binary, new byte[][] {{e[0]}, {(byte) 0xFF}}, null);
      assertDoesNotThrow(() -> VariableWidthCheck.check(binary), "binary is not text");
    }
  }

  @Test
  void aBadByteIsFoundAtEveryPositionOfALongAsciiRun() {
    // Runs are skipped 32 and 8 bytes at a time: a bad byte (or a good multi-byte character)
    // at any position of a 100-byte value, including the last bytes of a step, must be seen.
    try (BufferAllocator a = new RootAllocator(1 << 20); VarCharVector v = new VarCharVector("s", a)) {
      for (int pos = 0; pos < 100; pos++) {
        byte[] text = "x".repeat(100).getBytes(StandardCharsets.UTF_8);
        text[pos] = (byte) 0xFF;
        fill(v, new byte[][] {text}, null);
        int at = pos;
        var e = assertThrows(IllegalArgumentException.class, () -> VariableWidthCheck.check(v));
        assertEquals("invalid UTF-8 at data byte " + at, e.getMessage());
        byte[] good = ("x".repeat(pos) + "é" + "x".repeat(99 - pos)).getBytes(StandardCharsets.UTF_8);
        fill(v, new byte[][] {good}, null);
        assertDoesNotThrow(() -> VariableWidthCheck.check(v));
      }
    }
  }

  @Test
  void aDescendingOffsetLateInALongVectorIsNamed() {
    try (BufferAllocator a = new RootAllocator(1 << 20);
         VarCharVector v = new VarCharVector("s", a);
         LargeVarCharVector large = new LargeVarCharVector("l", a)) {
      byte[][] values = new byte[1000][];
      java.util.Arrays.fill(values, "ab".getBytes(StandardCharsets.UTF_8));
      fill(v, values, null);
      v.getOffsetBuffer().setInt(4L * 998, 2 * 999 + 1); // offset 998 above offset 999
      var e = assertThrows(IllegalArgumentException.class, () -> VariableWidthCheck.check(v));
      assertEquals("offset 999 (1998) is below offset 998 (1999)", e.getMessage());
      large.allocateNew();
      for (int i = 0; i < 1000; i++) {
        large.setSafe(i, values[i]);
      }
      large.setValueCount(1000);
      large.getOffsetBuffer().setLong(8L * 998, 2 * 999 + 1);
      e = assertThrows(IllegalArgumentException.class, () -> VariableWidthCheck.check(large));
      assertEquals("offset 999 (1998) is below offset 998 (1999)", e.getMessage());
    }
  }

  @Test
  void offsetsMustAscendAndStayInTheData() {
    try (BufferAllocator a = new RootAllocator(1 << 20); VarCharVector v = new VarCharVector("s", a)) {
      fill(v, new byte[][] {"ab".getBytes(StandardCharsets.UTF_8), "c".getBytes(StandardCharsets.UTF_8)}, null);
      v.getOffsetBuffer().setInt(4, 3);
      v.getOffsetBuffer().setInt(8, 2);
      var descending = assertThrows(IllegalArgumentException.class, () -> VariableWidthCheck.check(v));
      assertEquals("offset 2 (2) is below offset 1 (3)", descending.getMessage());
      v.getOffsetBuffer().setInt(4, 2);
      v.getOffsetBuffer().setInt(8, (int) v.getDataBuffer().capacity() + 1);
      assertThrows(IllegalArgumentException.class, () -> VariableWidthCheck.check(v));
    }
  }
}
