package dev.quiver.server;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.dictionary.Dictionary;
import org.apache.arrow.vector.dictionary.DictionaryProvider;

/**
 * Refuses an uploaded stream that replaces (or extends with a delta) a dictionary after record
 * batches referring to the earlier one were staged.
 *
 * <p>Arrow Java's {@code FlightStream} loads a later dictionary batch into the same dictionary
 * vector, so every staged batch would silently decode against the last dictionary. A dataset
 * keeps one dictionary per column, hence the refusal. A dictionary batch always brings new
 * buffers (the loader retains the message body before releasing the old buffers), so a change
 * of buffer addresses is exactly "a dictionary batch arrived"; PyArrow does not resend an
 * unchanged dictionary.
 */
final class DictionaryReplacementGuard {
  private final Map<Long, List<Long>> firstSeen = new HashMap<>();

  /** Call after every batch the stream yields (and once more at the end of the stream). */
  void check(DictionaryProvider provider, long batchIndex) {
    if (provider == null) {
      return;
    }
    for (long id : provider.getDictionaryIds()) {
      Dictionary dictionary = provider.lookup(id);
      List<Long> now = addresses(dictionary.getVector());
      List<Long> before = firstSeen.putIfAbsent(id, now);
      if (before != null && !before.equals(now)) {
        throw new UnsupportedOperationException("dictionary " + id + " (column of type "
            + dictionary.getVectorType() + ") was replaced after batch " + batchIndex
            + "; a Quiver dataset keeps one dictionary per column: unify the dictionaries "
            + "first (e.g. pyarrow.Table.unify_dictionaries()) or send the column decoded");
      }
    }
  }

  private static List<Long> addresses(FieldVector vector) {
    List<Long> out = new ArrayList<>();
    out.add((long) vector.getValueCount());
    for (ArrowBuf buf : vector.getBuffers(false)) {
      out.add(buf.memoryAddress());
      out.add(buf.capacity());
    }
    return out;
  }
}
