/**
 * Keeps secrets (the SpyCloud API key, the OpenCTI token, the broker password) out of log lines
 * and error messages: one rule for every place that writes text a secret may have reached.
 *
 * @since 0.1.0
 */
import { Redacted } from "effect"

/**
 * Secrets shorter than this are left in place. Masking every occurrence of a few characters would
 * mangle ordinary words and, through the gaps it leaves, give the secret away all the same; the
 * settings warn about such a value instead.
 *
 * @since 0.1.0
 * @category constants
 */
export const minimumSecretLength = 8

/**
 * What a secret is replaced with.
 *
 * @since 0.1.0
 * @category constants
 */
export const mask = "********"

/**
 * A function that replaces every secret of at least {@link minimumSecretLength} characters with
 * {@link mask}, as written and as escaped inside a JSON string. Build it once and reuse it: the
 * secrets are prepared here, longest first, so that a secret containing another is masked whole.
 *
 * @since 0.1.0
 * @category constructors
 */
export const scrubber = (
  secrets: ReadonlyArray<string | Redacted.Redacted<string>>
): (text: string) => string => {
  const values = secrets
    .map((secret) => Redacted.isRedacted(secret) ? Redacted.value(secret) : secret)
    .filter((secret) => secret.length >= minimumSecretLength)
    .flatMap((secret) => [secret, JSON.stringify(secret).slice(1, -1)])
  const patterns = [...new Set(values)].sort((a, b) => b.length - a.length)
  if (patterns.length === 0) return (text) => text
  return (text) =>
    patterns.reduce(
      (scrubbed, secret) =>
        scrubbed.includes(secret) ? scrubbed.replaceAll(secret, mask) : scrubbed,
      text
    )
}

/**
 * `text` with every secret of at least {@link minimumSecretLength} characters replaced by
 * {@link mask}; see {@link scrubber}.
 *
 * @since 0.1.0
 * @category utils
 */
export const scrubSecrets = (
  text: string,
  secrets: ReadonlyArray<string | Redacted.Redacted<string>>
): string => scrubber(secrets)(text)
