/**
 * Breach record → STIX 2.1 objects. Pure and deterministic: the same record and catalog entry
 * give byte-identical objects on every run and every machine.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import type { BreachRecord, CatalogEntry } from "./BreachRecord.js"
import type { ConversionSettings } from "./ConnectorConfig.js"
import { ConnectorConfig, conversionSettings } from "./ConnectorConfig.js"
import type { Bundle, StixObject } from "./Stix.js"

/**
 * A value the converter left out because it was not valid for its STIX property. The value itself
 * is not kept: it may be a secret.
 *
 * @since 0.1.0
 * @category models
 */
export interface DroppedValue {
  readonly field: string
  readonly reason: string
}

/**
 * The objects of one record: its incident, its observables and their relationships. The author
 * and the marking are not repeated here; `bundle` adds them.
 *
 * @since 0.1.0
 * @category models
 */
export interface Conversion {
  readonly objects: ReadonlyArray<StixObject>
  readonly dropped: ReadonlyArray<DroppedValue>
  readonly warnings: ReadonlyArray<string>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface ConverterShape {
  readonly author: StixObject
  readonly marking: StixObject
  readonly convert: (record: BreachRecord, catalog: CatalogEntry | undefined) => Conversion
  /**
   * A self-contained bundle: the author and the marking first, then the objects in the order
   * given, each id once; the bundle id is derived from the sorted object ids.
   */
  readonly bundle: (objects: Iterable<StixObject>) => Bundle
}

/**
 * @since 0.1.0
 * @category services
 */
export class Converter extends Context.Tag("spycloud/Converter")<Converter, ConverterShape>() {}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (settings: ConversionSettings): ConverterShape => {
  // TODO(converter): replaced by the real mapping
  void settings
  throw new Error("not implemented")
}

/**
 * @since 0.1.0
 * @category layers
 */
export const layer = (settings: ConversionSettings): Layer.Layer<Converter> =>
  Layer.sync(Converter, () => make(settings))

/**
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<Converter, never, ConnectorConfig> = Layer.effect(
  Converter,
  Effect.map(ConnectorConfig, (settings) => make(conversionSettings(settings)))
)
