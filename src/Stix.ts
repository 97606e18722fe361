/**
 * STIX 2.1 shapes the connector emits.
 *
 * @since 0.1.0
 */

/**
 * Any STIX object: SDO, SCO, SRO or marking. Properties beyond `type` and `id` depend on the type.
 *
 * @since 0.1.0
 * @category models
 */
export interface StixObject {
  readonly type: string
  readonly id: string
  readonly [property: string]: unknown
}

/**
 * A STIX 2.1 bundle: self-contained, it carries the author and the marking its objects refer to.
 *
 * @since 0.1.0
 * @category models
 */
export interface Bundle {
  readonly type: "bundle"
  readonly id: string
  readonly objects: ReadonlyArray<StixObject>
}
