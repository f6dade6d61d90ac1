package mx.prep.difusor.state;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonProperty;

/** The last packages this process handled, with their outcome and times per stage: for the status page. */
public final class PackageJournal {

    /** One package handled. */
    public record Entry(@JsonProperty("package") String packageName, String corte, String outcome, String reason, String step, String detail, String at,
            Map<String, Long> stageMillis) {
    }

    private static final int KEPT = 50;
    private final Deque<Entry> entries = new ArrayDeque<>();

    public synchronized void add(Entry entry) {
        entries.addFirst(entry);
        while (entries.size() > KEPT) {
            entries.removeLast();
        }
    }

    public synchronized List<Entry> recent() {
        return new ArrayList<>(entries);
    }
}
