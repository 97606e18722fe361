/**
 * How a bundle is cut before it reaches the platform: into one-object queue messages ordered so
 * that every object comes after what it references (the AMQP push), or into self-contained parts
 * of bounded size (the API push).
 *
 * @since 0.1.0
 */
import type { Bundle, StixObject } from "../Stix.js"

/**
 * A one-object bundle as the platform's workers expect it on the push queue. `x_opencti_seq` is
 * the object's dependency count: itself plus, transitively, every object of the bundle it
 * references.
 *
 * @since 0.1.0
 * @category models
 */
export interface QueuePiece {
  readonly type: "bundle"
  readonly id: string
  readonly spec_version: "2.1"
  readonly x_opencti_seq: number
  readonly objects: readonly [StixObject]
}

/**
 * One piece per object, objects with fewer dependencies first, so a worker never imports an
 * object before the objects it references. Ties keep the order of a depth-first walk of the
 * bundle, dependencies before dependents. Each object appears once, even when the bundle repeats
 * its id; reference cycles are cut where the walk meets them.
 *
 * @since 0.1.0
 * @category splitting
 */
export const queuePieces = (bundle: Bundle): ReadonlyArray<QueuePiece> => {
  const byId = indexById(bundle.objects)
  const dependencies = new Map<string, number>()
  const inProgress = new Set<string>()
  const walked: Array<StixObject> = []

  const count = (object: StixObject): number => {
    const known = dependencies.get(object.id)
    if (known !== undefined) return known
    inProgress.add(object.id)
    let total = 1
    for (const ref of referencedIds(object)) {
      const target = byId.get(ref)
      if (target !== undefined && ref !== object.id && !inProgress.has(ref)) total += count(target)
    }
    inProgress.delete(object.id)
    dependencies.set(object.id, total)
    walked.push(object)
    return total
  }

  for (const object of byId.values()) count(object)

  return walked
    .map((object) => ({ object, seq: dependencies.get(object.id)! }))
    .sort((a, b) => a.seq - b.seq)
    .map(({ object, seq }) => ({
      type: "bundle",
      id: bundle.id,
      spec_version: "2.1",
      x_opencti_seq: seq,
      objects: [object]
    }))
}

/**
 * Cuts a bundle into bundles of at most `maxObjects` objects, each self-contained: every
 * reference of every object resolves inside its part. Context objects (markings, and the
 * authors named by `created_by_ref`) are copied into every part that needs them; the other objects
 * stay with the objects they are linked to (a record's incident, observables and relationships
 * travel together) whenever such a group fits in one part. A part exceeds `maxObjects` only when
 * a single object needs more objects than that to be self-contained. Parts keep the bundle's id
 * and its object order.
 *
 * @since 0.1.0
 * @category splitting
 */
export const partitionBundle = (bundle: Bundle, maxObjects: number): ReadonlyArray<Bundle> => {
  const limit = Math.max(1, Math.floor(maxObjects))
  const objects = [...indexById(bundle.objects).values()]
  if (objects.length <= limit) {
    return objects.length === bundle.objects.length ? [bundle] : [{ ...bundle, objects }]
  }

  const position = new Map(objects.map((object, index) => [object.id, index]))
  const refs = objects.map((object) =>
    referencedIds(object).flatMap((ref) => {
      const target = position.get(ref)
      return target === undefined || ref === object.id ? [] : [target]
    })
  )
  const context = contextObjects(objects, position)
  const closureOf = closures(refs)

  const parts: Array<Set<number>> = []
  let current = new Set<number>()
  const add = (unit: Set<number>) => {
    const grown = [...unit].filter((index) => !current.has(index)).length + current.size
    if (grown <= limit) {
      for (const index of unit) current.add(index)
      return
    }
    if (current.size > 0) parts.push(current)
    current = new Set(unit)
  }

  for (const group of linkedGroups(refs, context)) {
    const unit = closureOf(group)
    if (unit.size <= limit) {
      add(unit)
    } else {
      for (const member of dependenciesFirst(group, refs)) add(closureOf([member]))
    }
  }
  if (current.size > 0) parts.push(current)

  return parts.map((part) => ({
    ...bundle,
    objects: [...part].sort((a, b) => a - b).map((index) => objects[index]!)
  }))
}

const indexById = (objects: ReadonlyArray<StixObject>): Map<string, StixObject> => {
  const byId = new Map<string, StixObject>()
  for (const object of objects) if (!byId.has(object.id)) byId.set(object.id, object)
  return byId
}

const referencedIds = (object: StixObject): ReadonlyArray<string> => {
  const ids: Array<string> = []
  for (const key of Object.keys(object)) {
    const value = object[key]
    if (key.endsWith("_refs") && Array.isArray(value)) {
      for (const ref of value) if (typeof ref === "string") ids.push(ref)
    } else if (key.endsWith("_ref") && typeof value === "string") {
      ids.push(value)
    }
  }
  return ids
}

const contextRefKeys = ["created_by_ref", "x_opencti_created_by_ref", "object_marking_refs"]

/** Markings and authors: objects many groups share and each part carries its own copy of. */
const contextObjects = (
  objects: ReadonlyArray<StixObject>,
  position: ReadonlyMap<string, number>
): ReadonlySet<number> => {
  const context = new Set<number>()
  objects.forEach((object, index) => {
    if (object.type === "marking-definition") context.add(index)
    for (const key of contextRefKeys) {
      const value = object[key]
      for (const ref of Array.isArray(value) ? value : [value]) {
        const target = typeof ref === "string" ? position.get(ref) : undefined
        if (target !== undefined) context.add(target)
      }
    }
  })
  return context
}

/** The objects linked by references other than to context objects, in bundle order. */
const linkedGroups = (
  refs: ReadonlyArray<ReadonlyArray<number>>,
  context: ReadonlySet<number>
): ReadonlyArray<ReadonlyArray<number>> => {
  const parent = refs.map((_, index) => index)
  const root = (index: number): number => {
    while (parent[index] !== index) {
      parent[index] = parent[parent[index]!]!
      index = parent[index]!
    }
    return index
  }
  refs.forEach((targets, index) => {
    if (context.has(index)) return
    for (const target of targets) if (!context.has(target)) parent[root(target)] = root(index)
  })

  const groups = new Map<number, Array<number>>()
  refs.forEach((_, index) => {
    if (context.has(index)) return
    const key = root(index)
    const group = groups.get(key)
    if (group === undefined) groups.set(key, [index])
    else group.push(index)
  })
  // A context object nobody references still has to be sent.
  const orphans = [...context].filter((index) => !refs.some((targets) => targets.includes(index)))
  return [...groups.values(), ...orphans.map((index) => [index])]
}

/** The objects `indexes` need to be self-contained: themselves and everything they reference. */
const closures = (refs: ReadonlyArray<ReadonlyArray<number>>) => (indexes: Iterable<number>) => {
  const closure = new Set<number>()
  const pending = [...indexes]
  while (pending.length > 0) {
    const index = pending.pop()!
    if (closure.has(index)) continue
    closure.add(index)
    pending.push(...refs[index]!)
  }
  return closure
}

const dependenciesFirst = (
  group: ReadonlyArray<number>,
  refs: ReadonlyArray<ReadonlyArray<number>>
): ReadonlyArray<number> => {
  const members = new Set(group)
  const ordered: Array<number> = []
  const seen = new Set<number>()
  const visit = (index: number) => {
    if (seen.has(index)) return
    seen.add(index)
    for (const target of refs[index]!) if (members.has(target)) visit(target)
    ordered.push(index)
  }
  for (const index of group) visit(index)
  return ordered
}
