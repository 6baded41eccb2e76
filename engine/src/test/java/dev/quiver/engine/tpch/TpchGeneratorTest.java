package dev.quiver.engine.tpch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.quiver.engine.dataset.Catalog;
import dev.quiver.engine.dataset.Dataset;
import dev.quiver.engine.memory.EngineMemory;
import dev.quiver.engine.testing.LeakCheck;
import org.apache.arrow.vector.DecimalVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(LeakCheck.class)
class TpchGeneratorTest {
  @Test
  void generatesSpecRowCountsAndDecimalMoney(EngineMemory memory) {
    try (Catalog catalog = new Catalog(memory)) {
      new TpchGenerator(0.01, 4096).loadAll(catalog);
      assertEquals(8, catalog.size());
      try (Dataset nation = catalog.get("nation");
          Dataset orders = catalog.get("orders");
          Dataset lineitem = catalog.get("lineitem")) {
        assertEquals(25, nation.rowCount());
        assertEquals(15_000, orders.rowCount()); // 1.5M * SF
        assertTrue(lineitem.rowCount() > 55_000 && lineitem.rowCount() < 65_000);
        VectorSchemaRoot first = lineitem.batches().get(0);
        DecimalVector price = (DecimalVector) first.getVector("l_extendedprice");
        assertEquals(2, price.getScale());
        assertTrue(price.getObject(0).signum() > 0);
        assertTrue(lineitem.batches().size() > 1, "split into batches of 4096");
      }
    }
  }
}
