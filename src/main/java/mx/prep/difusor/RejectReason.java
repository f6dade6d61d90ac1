package mx.prep.difusor;

/** Stable reason codes written in quarantine reports and metrics; operators and the memoria técnica rely on them. */
public enum RejectReason {
    /** The announced checksum is missing, not 64 hex characters, or its file names another corte's zip. */
    CHECKSUM_INVALID,
    /** The SHA-256 of the bytes received differs from the announced one. */
    CHECKSUM_MISMATCH,
    /** The number of bytes received differs from the announced size, and their SHA-256 from the announced one. */
    SIZE_MISMATCH,
    /** No corte can be read from the package name (or the manifest). */
    NO_CORTE,
    /** The corte is later than now (difusor.source.corte-max-ahead-minutes): a typo or a time in another zone. */
    CORTE_AHEAD,
    /** The corte is not newer than the published one, or older than one whose publication was cut short part way. */
    STALE_CORTE,
    /** The history already holds a different package under the same name. */
    NAME_REUSED,
    /** Not a readable zip: empty, truncated, damaged. */
    BAD_ZIP,
    /** A local header disagrees with the central directory: the zip says two different things. */
    ZIP_HEADER_MISMATCH,
    /** An encrypted entry: nothing the public can be served. */
    ENCRYPTED_ENTRY,
    /** A compression method other than stored or deflated. */
    UNSUPPORTED_COMPRESSION,
    /** A symbolic link entry. */
    SYMLINK_ENTRY,
    /** An archive inside the package (policy: refused; a PREP site has none). */
    NESTED_ARCHIVE,
    /** Too many entries, too large, a suspicious expansion ratio, or entries overlapping in the file. */
    ZIP_BOMB,
    /** An entry's bytes do not match the CRC-32 recorded in the zip. */
    ENTRY_CRC_MISMATCH,
    /** An entry name escapes the site root or cannot be an S3 key. */
    UNSAFE_ENTRY_NAME,
    /** Two entries land on the same path after normalisation. */
    DUPLICATE_ENTRY,
    /** The site has no index.html at its root: the institute's probe would fail. */
    NO_INDEX_HTML,
    /** index.html has no {@code <base>} tag: the institute's probe would mark the difusor unavailable. */
    NO_BASE_TAG,
    /** index.html's {@code <base>} points to another site: visitors would be sent elsewhere. */
    BASE_OUTSIDE_SITE,
    /** The package lacks more published files than difusor.publish.max-deletions(-percent) allows: a person must look at it. */
    TOO_MANY_DELETIONS,
    /** Where the zip should be, the source answered something else until the retries ran out: an HTML page, a 401 or 410. */
    BAD_SOURCE_RESPONSE,
    /** A transient failure (network, 5xx, throttling) that outlasted every retry. */
    RETRIES_EXHAUSTED,
    /** Anything unexpected: a bug or an unforeseen input. */
    UNEXPECTED;

    /**
     * A refusal for what the bytes received are, which fetching the same bytes again cannot change. The others (the
     * source or S3 failing, a bug) leave the offer to be fetched again after a pause; so does a {@link #isMismatch
     * mismatch}, for the offer: its zip may not be replaced yet.
     */
    public boolean isLasting() {
        return this != RETRIES_EXHAUSTED && this != UNEXPECTED && this != BAD_SOURCE_RESPONSE;
    }

    /** Bytes other than announced: the offer is fetched again after a growing pause while the source offers it. */
    public boolean isMismatch() {
        return this == CHECKSUM_MISMATCH || this == SIZE_MISMATCH;
    }
}
