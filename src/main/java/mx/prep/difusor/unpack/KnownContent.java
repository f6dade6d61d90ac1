package mx.prep.difusor.unpack;

/**
 * What earlier publications learnt about the site's zip entries: for a site path, the content hashes of the entry
 * whose compressed bytes had a given fingerprint. Inflating is a function of the compressed bytes, so an entry with
 * the same fingerprint holds the same content, already CRC-checked and hashed when it was first published; the
 * unzip step then skips inflating it (between two cortes about nine files in ten are unchanged).
 */
@FunctionalInterface
public interface KnownContent {

    /** Nothing known: every entry is inflated, checked and hashed. */
    KnownContent NONE = (path, fingerprint) -> null;

    /** The content of the entry at {@code path} if its compressed bytes had exactly this fingerprint, else null. */
    Known lookup(String path, String fingerprint);

    /** The content hashes and size of an entry as first read, and its fingerprint (the same as the one looked up). */
    record Known(String sha256, String md5, long size, String fingerprint) {
    }
}
