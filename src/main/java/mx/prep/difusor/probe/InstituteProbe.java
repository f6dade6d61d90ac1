package mx.prep.difusor.probe;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.ObjectStore;
import mx.prep.difusor.state.PublishedState;
import mx.prep.difusor.state.StateStore;

/**
 * Does what the institute does to every difusor (call, section V.b): GET the public page, expect 200 and the HTML
 * {@code <base>} tag. Plus freshness: the page the public gets must be the index.html we published last (a CDN that
 * still serves an older corte is an incident too). The result is the status page's light and a metric; when the light
 * turns red, or yellow at two probes in a row, an incident starts, logged and kept in S3 with its start and end for
 * the memoria técnica.
 */
public final class InstituteProbe {

    /**
     * GREEN: 200, base tag, newest corte. YELLOW: up, but showing an older corte. RED: the institute would mark us
     * unavailable. UNKNOWN: not probed, or the page is up but which corte it shows cannot be told (S3 unreadable).
     */
    public enum Light { GREEN, YELLOW, RED, UNKNOWN }


    /** The last result; {@code pageUp}: the page answered as the institute expects (200 and the base tag). */
    public record Result(Light light, String detail, String at, boolean pageUp) {
    }

    /** Added to the detail of an incident an earlier process left open, ended by this one's first probe. */
    public static final String ENDED_AFTER_RESTART = " (ended by the first probe after a restart)";

    /** Added to the detail of an incident a replica that stopped probing left open, ended by the one still probing. */
    public static final String ENDED_BY_PEER = " (ended by pod ";

    /** Added to the detail of an incident an earlier process left open that this one carries on: nobody watched the gap. */
    public static final String CARRIED_AFTER_RESTART = " (carried on after a restart)";

    /**
     * An incident for the memoria técnica; {@code pod}: the replica that wrote the record last (null in memory, and in
     * records of versions before it was kept), so that a live replica can tell one left open by a replica that stopped.
     */
    public record Incident(String start, String end, Light light, String detail, String pod) {

        public Incident(String start, String end, Light light, String detail) {
            this(start, end, light, detail, null);
        }

        /** As written by that pod. */
        Incident by(String writer) {
            return new Incident(start, end, light, detail, writer);
        }

        /** A yellow whose data file failed: the page without its numbers, no older corte ({@link #dataFailed}). */
        public boolean dataMissing() {
            return light == Light.YELLOW && dataFailed(detail);
        }
    }

    /**
     * Whether a yellow's detail says a compared data file failed ("up, but data/corte.json answered HTTP 404 ...")
     * rather than that the public got an older corte ("up, but not the ... of the published corte ..."). A detail
     * another replica's view wraps starts the same way.
     */
    public static boolean dataFailed(String detail) {
        return detail != null && detail.startsWith("up, but ") && !detail.startsWith("up, but not the ");
    }

    /** What one replica's own probe saw last, kept in S3 for the other replicas. */
    public record View(String pod, String at, Light light, String detail, boolean pageUp) {
    }

    private static final Logger LOG = LoggerFactory.getLogger(InstituteProbe.class);
    private static final Pattern BASE_TAG = Pattern.compile("<base[\\s>]", Pattern.CASE_INSENSITIVE);
    /** How much of the page is looked at for its {@code <base>}, as the unpacker does; the rest is only hashed. */
    private static final int HEAD_BYTES = 1 << 20;

    private final URI publicUrl;
    private final HttpClient http;
    private final StateStore state;
    private final ObjectStore store;
    private final String bucket;
    private final String incidentsPrefix;
    private final Clock clock;
    private final Counter incidents;
    private final AtomicReference<Result> last = new AtomicReference<>(new Result(Light.UNKNOWN, "not probed yet", null, false));
    private final AtomicReference<Incident> open = new AtomicReference<>();
    /**
     * This pod's own answer to the institute's question (200 and the base tag), as soon as its GET has it: the S3 calls
     * come after it (another replica's view when this pod gets no answer, the published corte, the incident's writes),
     * and an S3 slow enough to take the page down held PrepPublicSiteDown's gauge at "up" for minutes. Never another
     * replica's view: the alert takes the highest over the replicas. A probe cut short by a stop leaves it as it was.
     */
    private volatile boolean pageUpNow;
    /** The page answered, but not as the institute checks: an incident whatever the other replica sees. */
    private volatile boolean answeredDownNow;
    /** False while the open incident's start is not in S3 yet (its first write failed): written again by the next probe. */
    private volatile boolean openOnRecord = true;
    /** The key each incident of this process is kept under, by its start and light (a few a night). */
    private final Map<String, String> keys = new java.util.concurrent.ConcurrentHashMap<>();
    private final Duration timeout;
    private final String viewsPrefix;
    private final String pod;
    private final Duration peerFresh;
    /** Site paths besides the page whose public copy must be the published corte's (difusor.probe.also-compare). */
    private final List<String> alsoCompare;
    /** Signs the User-Agent, so the memoria técnica leaves out the difusor's own requests and only them. */
    private final ProbeSignature signature;
    /** The page and those paths: one look at the site manifest for all of them. */
    private final List<String> probed;
    private static final String INDEX = "index.html";
    private final java.util.Set<String> missingWarned = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /** Open incidents left in S3 by an earlier process (a restart during an outage) are looked for once. */
    private volatile boolean recovered;
    /** Since when this pod's own probes have not reached the page at all; null while they do. */
    private volatile Instant cutOffSince;
    private volatile boolean viewRefused;
    private static final String UNREACHABLE = " unreachable: ";
    /** Both replicas probe on the same cron second: a view taken a moment before this pod's own is of the same tick. */
    private static final Duration SAME_TICK = Duration.ofSeconds(5);

    /**
     * @param viewsPrefix where each replica keeps its own last view, under its pod's name, for the others
     * @param peerFresh   how old another replica's view may be and still speak for the public page
     */
    public InstituteProbe(URI publicUrl, Duration timeout, StateStore state, ObjectStore store, String bucket, String incidentsPrefix,
            String viewsPrefix, String pod, Duration peerFresh, List<String> alsoCompare, ProbeSignature signature, MeterRegistry meters,
            Clock clock) {
        this.signature = signature;
        this.alsoCompare = List.copyOf(alsoCompare);
        // a path no URL can hold is a setting to fix at start, not an "unknown" light at every probe
        alsoCompare.forEach(path -> besidePage(publicUrl, path));
        this.probed = java.util.stream.Stream.concat(java.util.stream.Stream.of(INDEX), alsoCompare.stream()).distinct().toList();
        this.viewsPrefix = viewsPrefix;
        this.pod = pod;
        this.peerFresh = peerFresh;
        this.publicUrl = publicUrl;
        this.timeout = timeout;
        // HTTP/1.1: a probe given up on closes its connection; over HTTP/2 only its stream was reset and the next probe
        // went out on the same, perhaps dead, connection (the institute's probe opens its own)
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NEVER).build();
        this.state = state;
        this.store = store;
        this.bucket = bucket;
        this.incidentsPrefix = incidentsPrefix;
        this.clock = clock;
        this.incidents = Counter.builder("difusor_probe_incidents_total").description("Times the probe's light left green").register(meters);
        Gauge.builder("difusor_probe_up", this, p -> p.pageUpNow ? 1 : 0)
                .description("1 when the public page answers this pod 200 with its <base> tag, as the institute checks").strongReference(true).register(meters);
        Gauge.builder("difusor_probe_answered_down", this, p -> p.answeredDownNow ? 1 : 0)
                .description("1 when the public page answered this pod, but not as the institute checks (not 200, or no <base> tag): the "
                        + "public's trouble (a CDN edge failing), counted as time without service whatever the other pod sees; 0 when up, "
                        + "or when no answer came at all (perhaps this pod's own network)").strongReference(true).register(meters);
        // no opinion (NaN) when this pod cannot tell: PrepPublicSiteBehind takes the max over the replicas, which skips
        // NaN; a 0 there for "S3 unreadable" fired it after 10 minutes of an outage that is no incident
        Gauge.builder("difusor_probe_fresh", this, p -> switch (p.last.get().light()) {
                    case GREEN -> 1;
                    case YELLOW -> 0;
                    default -> Double.NaN;
                })
                .description("1 when the public page (and each file of difusor.probe.also-compare) is the published corte's, 0 when it is up with another one, "
                        + "NaN when this pod cannot tell (the page down, or the published state unreadable)")
                .strongReference(true).register(meters);
    }

    public Result last() {
        return last.get();
    }

    public Optional<Incident> openIncident() {
        // one whose end waits to be recorded is over for the public
        return Optional.ofNullable(open.get()).filter(i -> i.end() == null);
    }

    public void probe() throws IOException {
        Instant now = clock.instant();
        Result own = check(now);
        boolean cutOff = own.light() == Light.RED && own.detail().startsWith(publicUrl + UNREACHABLE);
        cutOffSince = cutOff ? (cutOffSince == null ? now : cutOffSince) : null;
        Result result = cutOff ? seenUpByAnotherReplica(own, cutOffSince, now).orElse(own) : own;
        Result previous = last.get();
        if (result.light() == Light.UNKNOWN) {
            // our own trouble (S3 unreadable, a probe cut short by shutdown), not the public's: starts no incident of
            // the memoria técnica, and tells nothing of an older corte. But a page back up (200 and its <base>, all
            // the institute's GET asks) ends an outage: left open, it counted as time without service
            LOG.info("probe: {}", result.detail());
            if (result.pageUp()) {
                if (!recovered) {
                    // an outage an earlier process left open ends here too; an older corte's waits for a probe that can tell
                    recoverOpenIncident(result, now);
                }
                endOutage(now);
            }
            last.set(result);
            keepView(own);
            return;
        }
        if (!recovered) {
            recoverOpenIncident(result, now);
        }
        Incident current = open.get();
        try {
            if (current != null && current.end() == null && !openOnRecord) {
                // its start could not be recorded by the probe that saw it: recorded now, or a restart would find nothing
                // open and start the outage again later, and a memoria written meanwhile would not know of it
                keep(current);
                openOnRecord = true;
                LOG.info("probe: the incident of {} is on record now", current.start());
            }
            String endedAt = null;
            if (current != null && current.end() != null) {
                // its end could not be recorded by the last probe: recorded now, with the time it really ended
                keep(current);
                open.set(null);
                LOG.info("probe: the end of the incident of {} is on record now", current.start());
                endedAt = current.end();
                current = null;
            }
            if (current != null && current.light() == Light.RED && result.light() == Light.YELLOW) {
                // up again, with an older corte: the outage ends here; the yellow is an incident only if the next
                // probe sees it too (a corte being published shows its page a moment before it is recorded)
                Incident ended = new Incident(current.start(), now.toString(), current.light(), current.detail());
                open.set(ended);
                LOG.info("probe: incident of {} ended at {} after {} s; now {} ({}), an incident if the next probe sees it too", current.start(),
                        now, Duration.between(Instant.parse(current.start()), now).toSeconds(), result.light(), result.detail());
                keep(ended);
                open.set(null);
            } else if (current != null && result.light() != Light.GREEN && (result.light() != current.light()
                    || result.light() == Light.YELLOW && dataFailed(result.detail()) != current.dataMissing())) {
                // an older corte, then down: two incidents, so the memoria counts only the red one as time without
                // service; a page without its data, then an older corte: two as well, each reported as what it was.
                // The new one's key is its start's second: never the old one's
                boolean kindOnly = result.light() == current.light();
                if (kindOnly && !(previous != null && previous.light() == Light.YELLOW && previous.at() != null
                        && dataFailed(previous.detail()) == dataFailed(result.detail()))) {
                    // as a new yellow: one sighting of the other kind may be a corte being published, two in a row are it
                    LOG.info("probe: {} ({}); the incident of {} changes kind if the next probe sees it too", result.light(), result.detail(),
                            current.start());
                    return;
                }
                Instant from = kindOnly ? Instant.parse(previous.at()) : now;
                Instant switched = from.isBefore(Instant.parse(current.start()).truncatedTo(ChronoUnit.SECONDS).plusSeconds(1))
                        ? Instant.parse(current.start()).truncatedTo(ChronoUnit.SECONDS).plusSeconds(1) : from;
                Incident ended = new Incident(current.start(), switched.toString(), current.light(), current.detail());
                open.set(ended);
                keep(ended);
                Incident started = new Incident(switched.toString(), null, result.light(), result.detail());
                open.set(started);
                openOnRecord = false;
                incidents.increment();
                LOG.warn("probe: INCIDENT {} since {} is now {} ({}) from {}", current.light(), current.start(), result.light(),
                        result.detail(), switched);
                keep(started);
                openOnRecord = true;
            } else if (result.light() != Light.GREEN && current == null) {
                // a corte being published shows its new page a moment before it is recorded: one yellow is not an
                // incident yet, two in a row are, from the first
                if (result.light() == Light.YELLOW && previous.light() != Light.YELLOW) {
                    LOG.info("probe: {} ({}); an incident if the next probe sees it too", result.light(), result.detail());
                    return;
                }
                // down since the last probe, whose switch to it S3 refused to record (the old incident's end): from then
                String start = endedAt != null && result.light() == Light.RED && previous != null && previous.light() == Light.RED ? endedAt
                        : result.light() == Light.YELLOW && previous.at() != null ? previous.at() : now.toString();
                Incident started = new Incident(start, null, result.light(), result.detail());
                open.set(started);
                openOnRecord = false;
                incidents.increment();
                LOG.warn("probe: INCIDENT started at {}: {} ({})", start, result.light(), result.detail());
                keep(started);
                openOnRecord = true;
            } else if (result.light() == Light.GREEN && current != null) {
                Incident ended = new Incident(current.start(), now.toString(), current.light(), current.detail());
                // kept until S3 has the end: a record left open would count as down until the memoria's last day
                open.set(ended);
                LOG.info("probe: incident of {} ended at {} after {} s", current.start(), now,
                        Duration.between(Instant.parse(current.start()), now).toSeconds());
                keep(ended);
                open.set(null);
            }
            if (own.light() == Light.GREEN && open.get() == null) {
                endStoppedReplicasIncidents(now);
            }
        } finally {
            // the light changes once the incident is on record (whoever sees it green finds the incident closed),
            // and changes even when S3 cannot take the record: the log line is there
            last.set(result);
            keepView(own);
        }
    }

    /** Ends the open red incident, if any; an end S3 refuses is recorded by the next probe that can tell the corte. */
    private void endOutage(Instant now) {
        Incident current = open.get();
        if (current == null || current.end() != null || current.light() != Light.RED) {
            return;
        }
        Incident ended = new Incident(current.start(), now.toString(), current.light(), current.detail());
        open.set(ended);
        LOG.info("probe: incident of {} ended at {} after {} s: the page is up again", current.start(), now,
                Duration.between(Instant.parse(current.start()), now).toSeconds());
        try {
            keep(ended);
            open.set(null);
        } catch (IOException | RuntimeException e) {
            LOG.warn("probe: the end of the incident of {} cannot be recorded yet ({}); the next probe records it", current.start(), e.toString());
        }
    }

    /**
     * This pod cannot reach the page at all: does another replica see it up? Then it is this pod's network, not the
     * public's (as PrepPublicSiteDown reads it: either pod seeing the page up is enough), and no time without service
     * for the memoria: its view stands for this probe. Only a page that does not answer this pod is vouched for (an
     * HTTP answer, a 404 or a page without {@code <base>}, is the site's, whoever asks), and only by a view taken since
     * this pod was cut off (one from before, when the page was up for everyone, would hide the first probe of a real
     * outage) and fresh enough (a stopped replica's last one speaks for nobody). Only what a replica saw itself is
     * kept, so two replicas cut off alike cannot vouch for each other.
     */
    private Optional<Result> seenUpByAnotherReplica(Result own, Instant since, Instant now) {
        if (viewsPrefix.isEmpty()) {
            return Optional.empty();
        }
        Instant from = since.minus(SAME_TICK);
        try {
            for (var object : store.client().listObjectsV2Paginator(b -> b.bucket(bucket).prefix(viewsPrefix)).contents()) {
                if (object.lastModified() != null && object.lastModified().isBefore(from.minus(Duration.ofMinutes(1)))) {
                    continue;   // written before this pod was cut off, by S3's clock with a minute to spare: not read
                }
                Optional<View> view = store.readJson(bucket, object.key(), View.class);
                if (view.isEmpty() || pod.equals(view.get().pod()) || !view.get().pageUp() || view.get().at() == null) {
                    continue;
                }
                View v = view.get();
                Instant at = Instant.parse(v.at());
                if (!at.isBefore(from) && !at.isAfter(now.plus(SAME_TICK)) && Duration.between(at, now).compareTo(peerFresh) <= 0) {
                    LOG.warn("probe: this pod ({}) sees {}, but pod {} saw the page up at {}: this pod's network, not the public's; "
                            + "no incident", pod, own.detail(), v.pod(), v.at());
                    return Optional.of(new Result(v.light(), v.detail() + " (seen by pod " + v.pod() + "; this pod: " + own.detail() + ")",
                            own.at(), true));
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("probe: the other replicas' views cannot be read from s3://{}/{} ({}); this pod's own view counts", bucket, viewsPrefix,
                    e.toString());
        }
        return Optional.empty();
    }

    /** This pod's own view (never one taken from another replica), for the others; S3 refusing it only costs that. */
    private void keepView(Result own) {
        // a grey light whose page answered still tells the other replica the page is up
        if (own.light() == Light.UNKNOWN && !own.pageUp() || viewsPrefix.isEmpty()) {
            return;
        }
        try {
            store.putJson(bucket, viewsPrefix + pod + ".json", new View(pod, own.at(), own.light(), own.detail(), own.pageUp()));
            viewRefused = false;
        } catch (IOException | RuntimeException e) {
            // once per run of refusals: every 30 s would drown the log while S3 is down
            if (!viewRefused) {
                LOG.warn("probe: this pod's view cannot be kept at s3://{}/{}{}.json ({}); the other replica cannot count on it", bucket,
                        viewsPrefix, pod, e.toString());
            }
            viewRefused = true;
        }
    }

    /**
     * An incident still open in S3 was started by an earlier process (or the other replica) before a restart: it is
     * ended now if the page is fine, else carried on, rather than left without an end beside a second record.
     */
    private void recoverOpenIncident(Result result, Instant now) {
        try {
            List<Incident> stillOpen = new ArrayList<>();
            for (var object : store.client().listObjectsV2Paginator(b -> b.bucket(bucket).prefix(incidentsPrefix)).contents()) {
                Optional<Incident> read;
                try {
                    read = store.readJson(bucket, object.key(), Incident.class).filter(i -> i.end() == null && i.start() != null);
                    read.ifPresent(i -> Instant.parse(i.start()));
                } catch (com.fasterxml.jackson.core.JacksonException | java.time.format.DateTimeParseException unreadable) {
                    // one record damaged by hand must not keep the others open until the memoria's last day
                    LOG.warn("probe: incident record s3://{}/{} cannot be read ({}); left as it is", bucket, object.key(), unreadable.getMessage());
                    continue;
                }
                // its end goes where it was found
                read.ifPresent(i -> keys.put(i.start() + i.light(), object.key()));
                read.ifPresent(stillOpen::add);
            }
            // by the instant: as text "12Z" (no fraction) comes after "12.5Z"
            stillOpen.sort(Comparator.comparing((Incident i) -> Instant.parse(i.start())));
            // the one carried on: the latest of the light and kind this probe sees (two replicas may have left one of
            // each), else the latest of its light, else the latest
            boolean dataMissing = result.light() == Light.YELLOW && dataFailed(result.detail());
            Incident carried = stillOpen.stream().filter(i -> i.light() == result.light() && i.dataMissing() == dataMissing).reduce((a, b) -> b)
                    .or(() -> stillOpen.stream().filter(i -> i.light() == result.light()).reduce((a, b) -> b))
                    .orElse(stillOpen.isEmpty() ? null : stillOpen.get(stillOpen.size() - 1));
            for (Incident i : stillOpen) {
                if (result.light() == Light.GREEN || i != carried) {
                    Incident ended = new Incident(i.start(), now.toString(), i.light(), i.detail() + ENDED_AFTER_RESTART);
                    keep(ended);
                    LOG.info("probe: incident of {} left open by an earlier process ended at {}", i.start(), now);
                } else {
                    // the time between the two processes was not watched: the memoria must not vouch for its hours
                    Incident goesOn = i.detail() != null && i.detail().contains(CARRIED_AFTER_RESTART) ? i
                            : new Incident(i.start(), null, i.light(), (i.detail() == null ? "" : i.detail()) + CARRIED_AFTER_RESTART);
                    open.set(goesOn);
                    LOG.warn("probe: incident of {} left open by an earlier process goes on ({})", i.start(), result.detail());
                    // written now under this pod's name: a replica still probing takes a record of a pod that stopped for
                    // one nobody ends (a pod restarted under a new name carries it on here)
                    keep(goesOn);
                }
            }
            recovered = true;
        } catch (IOException | RuntimeException e) {
            LOG.warn("probe: cannot look for incidents left open in s3://{}/{} yet ({})", bucket, incidentsPrefix, e.toString());
        }
    }

    /** The record of an incident, under its key, as this pod writes it. */
    private void keep(Incident incident) throws IOException {
        store.putJson(bucket, incidentKey(incident), incident.by(pod));
    }

    /**
     * An incident another replica left open and can no longer end (evicted, scaled down: it stopped probing, its view
     * {@link #STOPPED_AFTER} old) was ended only by the next process's first probe: a memoria técnica written before that
     * counted the public page down until then, while this pod saw it up. Ended here, when that replica's last view was
     * taken (nobody watched from there after it; this pod sees the page up). Looked for at most once per peer-fresh,
     * only while this pod itself sees the page up and has no incident open; a record seen ended is not read again.
     */
    private void endStoppedReplicasIncidents(Instant now) {
        if (viewsPrefix.isEmpty() || peersSwept != null && Duration.between(peersSwept, now).compareTo(peerFresh) < 0) {
            return;
        }
        peersSwept = now;
        try {
            for (var object : store.client().listObjectsV2Paginator(b -> b.bucket(bucket).prefix(incidentsPrefix)).contents()) {
                String key = object.key();
                if (endedKeys.contains(key)) {
                    continue;
                }
                Optional<Incident> read;
                try {
                    read = store.readJson(bucket, key, Incident.class);
                    read.ifPresent(i -> Instant.parse(i.start()));
                } catch (com.fasterxml.jackson.core.JacksonException | java.time.format.DateTimeParseException unreadable) {
                    endedKeys.add(key);   // damaged by hand: said by recoverOpenIncident, left as it is
                    continue;
                }
                if (read.isEmpty() || read.get().end() != null) {
                    endedKeys.add(key);
                    continue;
                }
                Incident i = read.get();
                if (i.pod() == null || i.pod().equals(pod)) {
                    continue;   // this pod's own (an earlier process's: ended at its restart), or of a version that named none
                }
                Optional<View> view = store.readJson(bucket, viewsPrefix + i.pod() + ".json", View.class);
                Instant lastSeen = view.map(View::at).map(Instant::parse).orElse(null);
                if (lastSeen != null && Duration.between(lastSeen, now).compareTo(STOPPED_AFTER) <= 0) {
                    continue;   // may still be probing (its view late behind a slow S3 call, a clock apart): its own to end
                }
                Instant end = lastSeen != null && !lastSeen.isBefore(Instant.parse(i.start())) ? lastSeen : now;
                Incident ended = new Incident(i.start(), end.toString(), i.light(), (i.detail() == null ? "" : i.detail()) + ENDED_BY_PEER
                        + pod + ": pod " + i.pod() + " stopped probing" + (lastSeen == null ? "" : ", its last probe at " + lastSeen)
                        + "; this pod saw the page up at " + now + ")", i.pod());
                store.putJson(bucket, key, ended);
                endedKeys.add(key);
                LOG.info("probe: incident of {} left open by pod {}, which stopped probing, ended at {}", i.start(), i.pod(), end);
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("probe: cannot look for incidents left open by replicas that stopped, in s3://{}/{} ({})", bucket, incidentsPrefix,
                    e.toString());
        }
    }

    /**
     * How long a replica's view must have gone unwritten before it counts as stopped: well past what a live one's can lag
     * (a probe every 30 s, then S3 calls of up to a minute each before the view is written). The incident still ends at
     * that replica's last view; this only delays when.
     */
    private static final Duration STOPPED_AFTER = Duration.ofMinutes(10);

    /** When this pod last looked for incidents left open by replicas that stopped probing. */
    private volatile Instant peersSwept;
    /** Incident records seen ended (or unreadable): the look for stopped replicas' records does not read them again. */
    private final java.util.Set<String> endedKeys = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * By the second it started: both replicas probe on the same cron and see an outage at the same tick; one record. An
     * incident of another light or kind from that second (this pod saw the page down or without its data file, the
     * other an older corte, whose start is its first sighting's tick) is another incident, kept beside it under its
     * light and kind, never written over it.
     */
    private String incidentKey(Incident incident) throws IOException {
        // where its start was written, or found at a restart: its end goes there, whatever is beside it by now
        String known = keys.get(incident.start() + incident.light());
        if (known != null) {
            return known;
        }
        String key = newIncidentKey(incident);
        keys.put(incident.start() + incident.light(), key);
        return key;
    }

    private String newIncidentKey(Incident incident) throws IOException {
        String second = incidentsPrefix + Instant.parse(incident.start()).truncatedTo(ChronoUnit.SECONDS).toString().replace(':', '-');
        String beside = second + "-" + incident.light().name().toLowerCase(java.util.Locale.ROOT) + (incident.dataMissing() ? "-data" : "") + ".json";
        Optional<Incident> there;
        try {
            there = store.readJson(bucket, second + ".json", Incident.class);
        } catch (com.fasterxml.jackson.core.JacksonException unreadable) {
            // a record damaged by hand must not stop the probe recording incidents: this one goes beside it
            return beside;
        }
        return there.isEmpty() || there.get().light() == incident.light() && there.get().dataMissing() == incident.dataMissing()
                ? second + ".json" : beside;
    }

    /** One GET within the probe's deadline: the response, or why there is none. */
    private record Answer(HttpResponse<ServedBody> response, String failure, boolean interrupted) {
    }

    /**
     * @param deadline {@link System#nanoTime()} by which the whole answer must be in: one deadline for the page and the
     *                 files compared with it, so a probe never outlasts its timeout (and its cron)
     */
    private Answer get(URI uri, long deadline) {
        long remaining = deadline - System.nanoTime();
        String late = "no whole answer within " + timeout.toMillis() + " ms";
        if (remaining <= 0) {
            return new Answer(null, "the probe's deadline of " + timeout.toMillis() + " ms used up", false);
        }
        // the request's timeout ends at the response head: a page whose body stalls after it held this probe, and every
        // later one (the probe never overlaps itself), for good, its last light frozen. The whole answer has the deadline.
        java.util.concurrent.CompletableFuture<HttpResponse<ServedBody>> answer = http.sendAsync(
                HttpRequest.newBuilder(uri).header("User-Agent", signature.userAgent(clock.instant())).GET().build(), ServedBody.keeping(HEAD_BYTES));
        try {
            return new Answer(answer.get(remaining, java.util.concurrent.TimeUnit.NANOSECONDS), null, false);
        } catch (java.util.concurrent.TimeoutException e) {
            answer.cancel(true);
            return new Answer(null, late, false);
        } catch (java.util.concurrent.ExecutionException e) {
            return new Answer(null, String.valueOf(e.getCause()), false);
        } catch (InterruptedException e) {
            answer.cancel(true);
            Thread.currentThread().interrupt();
            return new Answer(null, "interrupted", true);
        }
    }

    private Result check(Instant now) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Answer page = get(publicUrl, deadline);
        if (page.interrupted()) {
            return new Result(Light.UNKNOWN, "interrupted", now.toString(), false);
        }
        if (page.failure() != null) {
            answeredDownNow = false;   // before the page's gauge: a test (or a scrape) that saw it fall sees this one set
            pageUpNow = false;
            return new Result(Light.RED, publicUrl + UNREACHABLE + page.failure(), now.toString(), false);
        }
        HttpResponse<ServedBody> response = page.response();
        // redirects are not followed: the institute's GET expects 200 from this very URL (call, section V.b)
        if (response.statusCode() != 200) {
            answeredDownNow = true;
            pageUpNow = false;
            String to = response.headers().firstValue("Location").map(l -> " to " + l).orElse("");
            return new Result(Light.RED, publicUrl + " answered HTTP " + response.statusCode() + to + " (the institute expects 200)",
                    now.toString(), false);
        }
        String html = new String(response.body().head(), java.nio.charset.StandardCharsets.UTF_8);
        if (!BASE_TAG.matcher(html).find()) {
            answeredDownNow = true;
            pageUpNow = false;
            return new Result(Light.RED, publicUrl + " has no <base> tag", now.toString(), false);
        }
        answeredDownNow = false;
        pageUpNow = true;
        try {
            Map<String, String> published = state.publishedSha256s(probed).orElse(Map.of());
            if (published.get(INDEX) == null) {
                return new Result(Light.GREEN, "up; nothing published yet to compare with", now.toString(), true);
            }
            Map<String, String> served = new java.util.LinkedHashMap<>();
            served.put(INDEX, response.body().sha256());
            String failed = null;
            String notCompared = null;
            for (String path : alsoCompare) {
                if (published.get(path) == null) {
                    // a setting to fix, not the public's trouble: never fetched, so never an incident
                    if (missingWarned.add(path)) {
                        LOG.warn("probe: {} (difusor.probe.also-compare) is not in the published site; not compared", path);
                    }
                    continue;
                }
                Answer answer = get(besidePage(publicUrl, path), deadline);
                if (answer.interrupted()) {
                    return new Result(Light.UNKNOWN, "interrupted", now.toString(), true);
                }
                if (answer.failure() != null) {
                    // no answer at all (this pod's network, a deadline spent on a slow page) tells nothing of the corte
                    // the public gets: not compared, no incident; the other replica's probe may tell
                    notCompared = notCompared != null ? notCompared : path + " not compared: " + answer.failure();
                } else if (answer.response().statusCode() != 200) {
                    failed = failed != null ? failed : path + " answered HTTP " + answer.response().statusCode();
                } else {
                    served.put(path, answer.response().body().sha256());
                }
            }
            String corte = state.lastKnown().map(s -> s.corte()).orElse("?");
            if (failed != null) {
                // the public's page lacks its numbers, whichever corte is published or being published
                return new Result(Light.YELLOW, "up, but " + failed + " (published corte " + corte + ")", now.toString(), true);
            }
            String older = firstDiffering(served, published, Map.of());
            if (older == null) {
                return notCompared != null
                        ? new Result(Light.UNKNOWN, "up with the published corte's index.html; " + notCompared, now.toString(), true)
                        : new Result(Light.GREEN, "up with the published corte " + corte, now.toString(), true);
            }
            // a corte's files go public before its invalidation and its record, which may wait minutes for a busy
            // CloudFront: they are no older corte (the state is read afresh: the other replica may be the one publishing)
            Optional<PublishedState> current = loadAfresh();
            if (current.isPresent() && current.get().publishing() != null) {
                Map<String, String> publishing = new java.util.HashMap<>();
                if (current.get().publishingFiles() != null) {
                    publishing.putAll(current.get().publishingFiles());
                }
                if (current.get().publishingIndex() != null) {
                    publishing.put(INDEX, current.get().publishingIndex());
                }
                if (firstDiffering(served, published, publishing) == null) {
                    return notCompared != null ? new Result(Light.UNKNOWN, "up with the corte being published; " + notCompared, now.toString(), true)
                            : new Result(Light.GREEN, "up with the corte being published " + current.get().publishingCorte(), now.toString(), true);
                }
            }
            // recorded meanwhile
            if (current.isPresent() && firstDiffering(served, state.publishedSha256s(probed).orElse(Map.of()), Map.of()) == null) {
                return notCompared != null ? new Result(Light.UNKNOWN, "up with the published corte's index.html; " + notCompared, now.toString(), true)
                        : new Result(Light.GREEN, "up with the published corte " + current.get().corte(), now.toString(), true);
            }
            return new Result(Light.YELLOW, "up, but not the " + older + " of the published corte " + corte + " (a stale cache?)",
                    now.toString(), true);
        } catch (IOException | RuntimeException e) {
            return new Result(Light.UNKNOWN, "up; which corte it shows is unknown: " + e.getMessage(), now.toString(), true);
        }
    }

    private Optional<PublishedState> loadAfresh() {
        try {
            return state.load();
        } catch (IOException | RuntimeException e) {
            LOG.debug("probe: the state cannot be read afresh ({}); the page is compared with the recorded corte only", e.toString());
            return Optional.empty();
        }
    }

    /** The first served path whose file is neither the published one nor the one being published, or null. */
    private static String firstDiffering(Map<String, String> served, Map<String, String> published, Map<String, String> publishing) {
        for (Map.Entry<String, String> file : served.entrySet()) {
            if (!file.getValue().equals(published.get(file.getKey())) && !file.getValue().equals(publishing.get(file.getKey()))) {
                return file.getKey();
            }
        }
        return null;
    }

    /**
     * A site file's public URL, beside the probed page: its path percent-encoded as a URL path (a space, an accent).
     * URI.resolve took it raw and threw for such a path at every probe, leaving the light unknown all night.
     */
    static URI besidePage(URI page, String path) {
        String at = page.getRawPath();
        String last = at == null ? "" : at.substring(at.lastIndexOf('/') + 1);
        if (!last.isEmpty() && !last.contains(".")) {
            // https://host/prep2024 is the site's folder, as the CDN's redirect to https://host/prep2024/ says: its files
            // are under it, not beside it (resolved as a file's, data/corte.json was looked for at https://host/data/)
            page = page.resolve("./" + last + "/");
        }
        try {
            // "./" first: a first segment with a ':' is no scheme
            return page.resolve(new URI(null, null, "./" + path, null));
        } catch (java.net.URISyntaxException e) {
            throw new IllegalArgumentException("difusor.probe.also-compare: " + path + " cannot be a URL path (" + e.getReason() + ")", e);
        }
    }
}
