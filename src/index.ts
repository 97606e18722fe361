/**
 * SpyCloud breach data into OpenCTI as STIX 2.1, as Effect services and a `Stream` pipeline.
 *
 * Provide a `SpyCloudApi`, a `Converter`, an `OpenCtiClient`, a `StateStore` and the
 * `ConnectorConfig`, then run `Runner.runOnce()` (one import), `Runner.runConnector` (the
 * scheduled connector) or consume `Ingestion.breachBundles(query)` yourself.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as BreachRecord from "./BreachRecord.js"
/** @since 0.1.0 */
export * as ConnectorConfig from "./ConnectorConfig.js"
/** @since 0.1.0 */
export * as Converter from "./Converter.js"
/** @since 0.1.0 */
export * as Ingestion from "./Ingestion.js"
/** @since 0.1.0 */
export * as Logging from "./Logging.js"
/** @since 0.1.0 */
export * as OpenCtiClient from "./OpenCtiClient.js"
/** @since 0.1.0 */
export * as OpenCtiFiles from "./OpenCtiClient/Files.js"
/** @since 0.1.0 */
export * as OpenCtiMemory from "./OpenCtiClient/Memory.js"
/** @since 0.1.0 */
export * as OpenCtiPlatform from "./OpenCtiClient/Platform.js"
/** @since 0.1.0 */
export * as PlatformState from "./StateStore/Platform.js"
/** @since 0.1.0 */
export * as Runner from "./Runner.js"
/** @since 0.1.0 */
export * as Simulator from "./Simulator/Server.js"
/** @since 0.1.0 */
export * as SpyCloudApi from "./SpyCloudApi.js"
/** @since 0.1.0 */
export * as SpyCloudHttp from "./SpyCloudApi/Http.js"
/** @since 0.1.0 */
export * as SpyCloudMemory from "./SpyCloudApi/Memory.js"
/** @since 0.1.0 */
export * as StateStore from "./StateStore.js"
/** @since 0.1.0 */
export * as Stix from "./Stix.js"
/** @since 0.1.0 */
export * as StixIds from "./StixIds.js"
/** @since 0.1.0 */
export * as Window from "./Window.js"
