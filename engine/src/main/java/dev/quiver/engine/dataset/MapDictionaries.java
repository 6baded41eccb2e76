package dev.quiver.engine.dataset;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.apache.arrow.util.AutoCloseables;
import org.apache.arrow.vector.dictionary.Dictionary;
import org.apache.arrow.vector.dictionary.DictionaryProvider;

/** The dictionaries a dataset owns, by id. Closing it frees their vectors. */
final class MapDictionaries implements DictionaryProvider, AutoCloseable {
  private final Map<Long, Dictionary> byId = new LinkedHashMap<>();

  void put(Dictionary dictionary) {
    Dictionary previous = byId.put(dictionary.getEncoding().getId(), dictionary);
    if (previous != null && previous.getVector() != dictionary.getVector()) {
      previous.getVector().close();
    }
  }

  Collection<Dictionary> all() {
    return byId.values();
  }

  @Override
  public Dictionary lookup(long id) {
    return byId.get(id);
  }

  @Override
  public Set<Long> getDictionaryIds() {
    return byId.keySet();
  }

  @Override
  public void close() throws Exception {
    var vectors = new ArrayList<AutoCloseable>();
    for (Dictionary d : byId.values()) {
      vectors.add(d.getVector());
    }
    byId.clear();
    AutoCloseables.close(vectors);
  }
}
