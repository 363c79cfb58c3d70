/** A write refused by a unique index (MongoDB and FerretDB both report code 11000). */
export function isDuplicateKey(error: unknown): boolean {
  return (error as { code?: number } | null)?.code === 11000;
}
