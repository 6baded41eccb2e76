package dev.quiver.engine.expr;

import static dev.quiver.engine.expr.Functions.arity;
import static dev.quiver.engine.expr.Functions.kind;
import static dev.quiver.engine.expr.Functions.mismatch;
import static dev.quiver.engine.expr.Functions.orNulls;

import dev.quiver.engine.types.TypeKind;
import dev.quiver.engine.types.Types;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import org.apache.arrow.vector.types.pojo.ArrowType;

/** length, lower, upper, substring, starts_with, ends_with, contains, like on UTF-8 bytes. */
final class StringFunctions {
  private StringFunctions() {}

  static void register(FunctionRegistry r) {
    r.register(Functions.of("length", List.of("char_length"), (a, reg) -> {
      arity("length", a, 1, 1);
      requireString("length", a, 0);
      ArrowType t = a.get(0).type() instanceof ArrowType.LargeUtf8 ? Types.INT64 : Types.INT32;
      return new PhysicalExpr.CallExpr("length", a, t, (in, n) -> {
        BytesVec s = (BytesVec) in[0];
        long[] out = new long[n];
        byte[] d = s.data;
        if (ascii(d, s.offsets[0], s.offsets[n])) {
          for (int i = 0; i < n; i++) {
            out[i] = s.offsets[i + 1] - s.offsets[i];
          }
          return new LongVec(t, out, n, s.nulls);
        }
        for (int i = 0; i < n; i++) {
          int c = 0;
          for (int p = s.offsets[i], e = s.offsets[i + 1]; p < e; p++) {
            c += (d[p] & 0xC0) != 0x80 ? 1 : 0;
          }
          out[i] = c;
        }
        return new LongVec(t, out, n, s.nulls);
      });
    }));
    r.register(Functions.of("lower", List.of(), (a, reg) -> caseMap("lower", a, false)));
    r.register(Functions.of("upper", List.of(), (a, reg) -> caseMap("upper", a, true)));
    r.register(Functions.of("substring", List.of("substr"), (a, reg) -> substring(a)));
    r.register(Functions.of("starts_with", List.of(), (a, reg) -> match("starts_with", a, 0)));
    r.register(Functions.of("ends_with", List.of(), (a, reg) -> match("ends_with", a, 1)));
    r.register(Functions.of("contains", List.of(), (a, reg) -> match("contains", a, 2)));
    r.register(Functions.of("like", List.of(), (a, reg) -> match("like", a, 3)));
  }

  private static void requireString(String fn, List<PhysicalExpr> args, int i) {
    if (kind(args.get(i)) != TypeKind.STRING && kind(args.get(i)) != TypeKind.NULL) {
      throw mismatch(fn, args, "a string (utf8, large_utf8, utf8_view) as argument " + (i + 1));
    }
  }

  /** Whether bytes {@code [from, to)} are all ASCII: one OR over them, which vectorizes. */
  static boolean ascii(byte[] d, int from, int to) {
    int acc = 0;
    for (int p = from; p < to; p++) {
      acc |= d[p];
    }
    return (acc & 0x80) == 0;
  }

  private static PhysicalExpr caseMap(String fn, List<PhysicalExpr> args, boolean upper) {
    arity(fn, args, 1, 1);
    requireString(fn, args, 0);
    ArrowType t = args.get(0).type();
    return new PhysicalExpr.CallExpr(fn, args, t, (in, n) -> {
      BytesVec s = (BytesVec) in[0];
      byte[] d = s.data;
      if (ascii(d, s.offsets[0], s.offsets[n])) {
        byte[] out = new byte[d.length];
        // Arithmetic instead of a branch per byte, so that the loop vectorizes: 32 off (or on)
        // where c - first is within 0..25.
        int first = upper ? 'a' : 'A';
        int sign = upper ? -1 : 1;
        for (int p = s.offsets[0], end = s.offsets[n]; p < end; p++) {
          int c = d[p];
          int k = c - first;
          int inRange = ((k | (25 - k)) >>> 31) ^ 1;
          out[p] = (byte) (c + sign * (inRange << 5));
        }
        return new BytesVec(t, out, s.offsets, n, s.nulls);
      }
      BytesVec.Builder b = new BytesVec.Builder(t, n, d.length);
      for (int i = 0; i < n; i++) {
        if (s.isNull(i)) {
          b.appendNull();
        } else {
          String v = s.string(i);
          b.append((upper ? v.toUpperCase(Locale.ROOT) : v.toLowerCase(Locale.ROOT))
              .getBytes(StandardCharsets.UTF_8));
        }
      }
      return b.build();
    });
  }

  private static PhysicalExpr substring(List<PhysicalExpr> args) {
    arity("substring", args, 2, 3);
    requireString("substring", args, 0);
    for (int i = 1; i < args.size(); i++) {
      TypeKind k = kind(args.get(i));
      if (k != TypeKind.INT && k != TypeKind.UINT && k != TypeKind.NULL) {
        throw mismatch("substring", args, "(string, integer start[, integer length])");
      }
    }
    ArrowType t = args.get(0).type();
    List<PhysicalExpr> cs = new java.util.ArrayList<>(args);
    for (int i = 1; i < cs.size(); i++) {
      cs.set(i, Casts.cast(cs.get(i), Types.INT64));
    }
    boolean hasLen = args.size() == 3;
    return new PhysicalExpr.CallExpr("substring", cs, t, (in, n) -> {
      BytesVec s = (BytesVec) in[0];
      long[] start = ((LongVec) in[1]).values;
      long[] len = hasLen ? ((LongVec) in[2]).values : null;
      boolean[] nulls = Functions.orNulls(in, n);
      BytesVec.Builder b = new BytesVec.Builder(t, n, s.data.length);
      for (int i = 0; i < n; i++) {
        if (nulls != null && nulls[i]) {
          b.appendNull();
          continue;
        }
        long from = start[i];
        long to;
        if (hasLen) {
          if (len[i] < 0) {
            throw new ComputeException("substring: negative length " + len[i]);
          }
          to = from + len[i];
        } else {
          to = Long.MAX_VALUE;
        }
        from = Math.max(from, 1);
        // Walk code points: [from, to) in 1-based characters.
        int p = s.offsets[i];
        int e = s.offsets[i + 1];
        long ch = 1;
        int bs = -1;
        int be = e;
        for (int q = p; q < e; q++) {
          if ((s.data[q] & 0xC0) != 0x80) {
            if (ch == from) {
              bs = q;
            }
            if (ch == to) {
              be = q;
              break;
            }
            ch++;
          }
        }
        if (bs < 0 || to <= from) {
          b.append(s.data, 0, 0);
        } else {
          b.append(s.data, bs, be - bs);
        }
      }
      return b.build();
    });
  }

  private static PhysicalExpr match(String fn, List<PhysicalExpr> args, int mode) {
    arity(fn, args, 2, 2);
    requireString(fn, args, 0);
    requireString(fn, args, 1);
    return new PhysicalExpr.CallExpr(fn, args, Types.BOOL, (in, n) -> {
      BytesVec s = (BytesVec) in[0];
      BytesVec p = (BytesVec) in[1];
      boolean[] out = new boolean[n];
      for (int i = 0; i < n; i++) {
        int so = s.offsets[i];
        int sl = s.length(i);
        int po = p.offsets[i];
        int pl = p.length(i);
        out[i] = switch (mode) {
          case 0 -> pl <= sl && java.util.Arrays.equals(s.data, so, so + pl, p.data, po, po + pl);
          case 1 -> pl <= sl && java.util.Arrays.equals(s.data, so + sl - pl, so + sl, p.data, po, po + pl);
          case 2 -> indexOf(s.data, so, sl, p.data, po, pl) >= 0;
          default -> like(s.data, so, so + sl, p.data, po, po + pl);
        };
      }
      return new BoolVec(out, n, orNulls(s.nulls, p.nulls, n));
    });
  }

  static int indexOf(byte[] h, int ho, int hl, byte[] nd, int no, int nl) {
    if (nl == 0) {
      return 0;
    }
    outer:
    for (int i = 0; i <= hl - nl; i++) {
      if (h[ho + i] != nd[no]) {
        continue;
      }
      for (int j = 1; j < nl; j++) {
        if (h[ho + i + j] != nd[no + j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  /** SQL LIKE over UTF-8: % any sequence, _ one code point, backslash escapes. */
  static boolean like(byte[] s, int si, int se, byte[] p, int pi, int pe) {
    int starP = -1;
    int starS = -1;
    while (si < se) {
      if (pi < pe && p[pi] == '%') {
        starP = ++pi;
        starS = si;
        continue;
      }
      if (pi < pe && p[pi] == '_') {
        pi++;
        si = nextCodePoint(s, si, se);
        continue;
      }
      if (pi < pe) {
        int lit = pi;
        if (p[pi] == '\\' && pi + 1 < pe) {
          lit = pi + 1;
        }
        if (p[lit] == s[si]) {
          pi = lit + 1;
          si++;
          continue;
        }
      }
      if (starP >= 0) {
        starS = nextCodePoint(s, starS, se);
        si = starS;
        pi = starP;
        continue;
      }
      return false;
    }
    while (pi < pe && p[pi] == '%') {
      pi++;
    }
    return pi == pe;
  }

  private static int nextCodePoint(byte[] s, int i, int e) {
    i++;
    while (i < e && (s[i] & 0xC0) == 0x80) {
      i++;
    }
    return i;
  }
}
