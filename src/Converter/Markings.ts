/**
 * The two objects every bundle carries: the author identity and the TLP marking definition.
 *
 * @since 0.1.0
 */
import type { TlpLevel } from "../ConnectorConfig.js"
import type { StixObject } from "../Stix.js"
import { identityId } from "../StixIds.js"

/**
 * The date of the TLP marking definitions of STIX 2.1. The objects the connector writes without
 * a date of their own (the author, TLP:AMBER+STRICT) carry it too, never the time of the run.
 *
 * @since 0.1.0
 * @category constants
 */
export const staticTimestamp = "2017-01-20T00:00:00.000Z"

/**
 * The platform's static marking ids. TLP:CLEAR and TLP:WHITE share one.
 *
 * @since 0.1.0
 * @category constants
 */
export const tlpMarkingIds: Readonly<Record<TlpLevel, string>> = {
  white: "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
  clear: "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
  green: "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
  amber: "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
  "amber+strict": "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37",
  red: "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"
}

/**
 * The marking definition of a TLP level: the STIX 2.1 `tlp` object for white (= clear), green,
 * amber and red; OpenCTI's `statement` form for amber+strict, which STIX does not define.
 *
 * @since 0.1.0
 * @category constructors
 */
export const tlpMarking = (level: TlpLevel): StixObject => {
  if (level === "amber+strict") {
    return {
      type: "marking-definition",
      spec_version: "2.1",
      id: tlpMarkingIds[level],
      created: staticTimestamp,
      definition_type: "statement",
      definition: { statement: "custom" },
      x_opencti_definition_type: "TLP",
      x_opencti_definition: "TLP:AMBER+STRICT"
    }
  }
  const tlp = level === "clear" ? "white" : level
  return {
    type: "marking-definition",
    spec_version: "2.1",
    id: tlpMarkingIds[level],
    created: staticTimestamp,
    definition_type: "tlp",
    name: `TLP:${tlp.toUpperCase()}`,
    definition: { tlp }
  }
}

/**
 * The organization every object is attributed to, named after the connector.
 *
 * @since 0.1.0
 * @category constructors
 */
export const authorIdentity = (name: string): StixObject => ({
  type: "identity",
  spec_version: "2.1",
  id: identityId(name, "organization"),
  created: staticTimestamp,
  modified: staticTimestamp,
  name,
  identity_class: "organization",
  description: "Breach records imported from SpyCloud."
})
