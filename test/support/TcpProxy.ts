/**
 * A TCP proxy on 127.0.0.1 that a test puts between the connector and one of its peers (the
 * broker, the platform) to stage an outage: `cut` destroys every open connection and refuses new
 * ones, `stall` keeps every connection open but lets nothing through (a peer that hangs), and
 * `restore` forwards new connections again.
 */
import type { Server, Socket } from "node:net"
import { connect, createServer } from "node:net"
import type { AddressInfo } from "node:net"

export interface TcpProxy {
  readonly port: number
  /** Connections accepted and forwarded so far (refused and stalled ones not counted). */
  readonly connections: () => number
  /** Destroys every open connection and refuses new ones: accepted, then closed at once. */
  readonly cut: () => void
  /** Stops forwarding in both directions and holds new connections open without an answer. */
  readonly stall: () => void
  /** Closes the held connections and forwards new ones again. */
  readonly restore: () => void
  readonly close: () => Promise<void>
}

interface Pair {
  readonly client: Socket
  readonly upstream: Socket
}

/** Starts a proxy on a free port of 127.0.0.1 forwarding to `127.0.0.1:target.port`. */
export const startTcpProxy = async (
  target: { readonly host?: string; readonly port: number }
): Promise<TcpProxy> => {
  const pairs = new Set<Pair>()
  const held = new Set<Socket>()
  let forwarded = 0
  let mode: "forward" | "cut" | "stall" = "forward"

  const server: Server = createServer((client) => {
    client.on("error", () => undefined)
    if (mode === "cut") {
      client.destroy()
      return
    }
    if (mode === "stall") {
      held.add(client)
      client.on("close", () => held.delete(client))
      return
    }
    forwarded += 1
    const upstream = connect(target.port, target.host ?? "127.0.0.1")
    const pair = { client, upstream }
    pairs.add(pair)
    for (const socket of [client, upstream]) {
      socket.on("error", () => undefined)
      socket.on("close", () => {
        if (!pairs.delete(pair)) return
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))

  const destroyAll = () => {
    for (const { client, upstream } of pairs) {
      client.destroy()
      upstream.destroy()
    }
    for (const socket of held) socket.destroy()
    pairs.clear()
    held.clear()
  }

  return {
    port: (server.address() as AddressInfo).port,
    connections: () => forwarded,
    cut: () => {
      mode = "cut"
      destroyAll()
    },
    stall: () => {
      mode = "stall"
      for (const pair of pairs) {
        pairs.delete(pair)
        pair.client.unpipe(pair.upstream)
        pair.upstream.destroy()
        held.add(pair.client)
        pair.client.on("close", () => held.delete(pair.client))
      }
    },
    restore: () => {
      mode = "forward"
      for (const socket of held) socket.destroy()
      held.clear()
    },
    close: async () => {
      mode = "cut"
      destroyAll()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
