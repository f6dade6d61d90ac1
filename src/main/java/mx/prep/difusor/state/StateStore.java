package mx.prep.difusor.state;

import java.io.IOException;
import java.util.Optional;

import mx.prep.difusor.ObjectStore;

/** Reads and writes the published state object (JSON) in S3. */
public final class StateStore {

    private final ObjectStore store;
    private final String bucket;
    private final String key;
    private volatile PublishedState lastKnown;

    public StateStore(ObjectStore store, String bucket, String key) {
        this.store = store;
        this.bucket = bucket;
        this.key = key;
    }

    /** Reads the state from S3 (the source of truth: another pod may have published since). */
    public Optional<PublishedState> load() throws IOException {
        Optional<PublishedState> state = store.readJson(bucket, key, PublishedState.class);
        state.ifPresent(s -> lastKnown = s);
        return state;
    }

    /** The state as last read or written by this process, without a request; may be behind S3. */
    public Optional<PublishedState> lastKnown() {
        return Optional.ofNullable(lastKnown);
    }

    public void save(PublishedState state) throws IOException {
        store.putJson(bucket, key, state);
        lastKnown = state;
    }

    public String location() {
        return "s3://" + bucket + "/" + key;
    }
}
