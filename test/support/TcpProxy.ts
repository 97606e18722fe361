/**
 * A TCP proxy on 127.0.0.1 that a test puts between the connector and one of its peers (the
 * broker, the platform) to stage an outage: `cut` destroys every open connection and refuses new
 * ones until `restore`.
 */
import type { Server, Socket } from "node:net"
import { connect, createServer } from "node:net"
import type { AddressInfo } from "node:net"

export interface TcpProxy {
  readonly port: number
  /** Connections accepted and forwarded so far (refused ones not counted). */
  readonly connections: () => number
  /** Whether the proxy is cut. */
  readonly isCut: () => boolean
  /** Destroys every open connection and refuses new ones: accepted, then closed at once. */
  readonly cut: () => void
  /** Forwards new connections again. */
  readonly restore: () => void
  readonly close: () => Promise<void>
}

/** Starts a proxy on a free port of 127.0.0.1 forwarding to `127.0.0.1:target.port`. */
export const startTcpProxy = async (
  target: { readonly host?: string; readonly port: number }
): Promise<TcpProxy> => {
  const open = new Set<Socket>()
  let forwarded = 0
  let cut = false

  const server: Server = createServer((client) => {
    client.on("error", () => undefined)
    if (cut) {
      client.destroy()
      return
    }
    forwarded += 1
    const upstream = connect(target.port, target.host ?? "127.0.0.1")
    for (const socket of [client, upstream]) {
      open.add(socket)
      socket.on("error", () => undefined)
      socket.on("close", () => {
        open.delete(socket)
        client.destroy()
        upstream.destroy()
      })
    }
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))

  const destroyAll = () => {
    for (const socket of open) socket.destroy()
    open.clear()
  }

  return {
    port: (server.address() as AddressInfo).port,
    connections: () => forwarded,
    isCut: () => cut,
    cut: () => {
      cut = true
      destroyAll()
    },
    restore: () => {
      cut = false
    },
    close: async () => {
      cut = true
      destroyAll()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
