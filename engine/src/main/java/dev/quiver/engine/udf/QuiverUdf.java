package dev.quiver.engine.udf;

/**
 * The service type under which user code is registered: list classes implementing {@link
 * ScalarUdf}, {@link BatchUdf} or {@link ObjectUdf} (and annotated with {@link Udf}) in
 * {@code META-INF/services/dev.quiver.engine.udf.QuiverUdf}. Each needs a public no-argument
 * constructor ({@link java.util.ServiceLoader}'s rule); objects receive their arguments in
 * {@link ObjectUdf#open}.
 */
public interface QuiverUdf {}
