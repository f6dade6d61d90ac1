package mx.prep.difusor.source;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.support.DefaultExchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.archive.HistoryArchiver;
import mx.prep.difusor.Json;
import mx.prep.difusor.PackageRejectedException;
import mx.prep.difusor.RejectReason;
import mx.prep.difusor.quarantine.Quarantine;
import mx.prep.difusor.quarantine.QuarantineReport;
import mx.prep.difusor.state.CorteParser;
import mx.prep.difusor.verify.ChecksumFilter;

/**
 * Packages a killed process had downloaded but not yet copied into the history: the source may never offer them again
 * (the institute moved on while the pod restarted), and a package once received is never lost. At start they are
 * moved out of the spool (the next download may reuse the name); then, once S3 answers, each one the history holds
 * byte for byte is dropped, and any other goes to quarantine for a person, with a report saying where it came from.
 */
public final class SpoolLeftovers {

    private static final Logger LOG = LoggerFactory.getLogger(SpoolLeftovers.class);

    private final Path leftovers;
    private final HistoryArchiver history;
    private final Quarantine quarantine;
    private final CamelContext context;
    private final CorteParser corteParser;
    private final Clock clock;
    private final Duration grace;
    /** When the sweep first found each leftover the history did not hold. */
    private final java.util.Map<Path, java.time.Instant> waitingSince = new java.util.HashMap<>();

    /**
     * @param grace how long a leftover the history does not hold yet waits before the quarantine, unless it was refused
     *              for what it is: after a restart the poll fetches the same package again, and once the history
     *              holds it the leftover is dropped, instead of being reported as a package that was lost
     * @param publishes false in a dry run, which keeps no package and never sweeps: what an earlier process left in
     *                  the spool stays there for a start that publishes, and is not counted as a package only on the
     *                  pod (set aside, it stayed among the leftovers for good, and PrepPackagesOnlyOnAPod fired)
     */
    public SpoolLeftovers(Path spoolDir, Path leftovers, HistoryArchiver history, Quarantine quarantine, CamelContext context,
            CorteParser corteParser, Clock clock, Duration grace, boolean publishes) throws IOException {
        this.grace = grace;
        this.leftovers = leftovers;
        this.history = history;
        this.quarantine = quarantine;
        this.context = context;
        this.corteParser = corteParser;
        this.clock = clock;
        if (publishes) {
            setAside(spoolDir);
        } else {
            leftAlone(spoolDir);
        }
    }

    /** A dry run's start: says what an earlier process left in the spool, and leaves it. */
    private static void leftAlone(Path spoolDir) throws IOException {
        if (!Files.isDirectory(spoolDir)) {
            return;
        }
        try (Stream<Path> files = Files.list(spoolDir)) {
            List<Path> left = files.filter(Files::isRegularFile).filter(f -> !f.getFileName().toString().endsWith(".part")).toList();
            if (!left.isEmpty()) {
                LOG.info("{} file(s) left in the spool {} by an earlier process stay there: a dry run keeps no package; a start that"
                        + " publishes sets them aside for the history's check", left.size(), spoolDir);
            }
        }
    }

    /**
     * In a package folder: where a refused package waits that neither the quarantine nor the leftovers took (hidden
     * from the folder's consumer), for a person to quarantine by hand.
     */
    public static final String NOT_KEPT = ".not-kept";

    /** Where the spool's leftovers wait, beside the spool. */
    public static Path besideSpool(Path spoolDir) {
        return spoolDir.resolveSibling("spool-leftovers");
    }

    /**
     * A package whose exchange ended before the history or the quarantine had it (failed: a stop while its history copy
     * waited for a retry; handled: a lost lead, or a refusal whose quarantine never ran): set aside with the leftovers,
     * which the sweep settles, instead of being deleted with the spool.
     */
    static void setAside(Path zip, String name, QuarantineReport why) throws IOException {
        Path leftovers = besideSpool(zip.getParent());
        Files.createDirectories(leftovers);
        setAside(zip, leftovers, name, why);
    }

    /**
     * Moves the package among the leftovers (a rename on the same volume: no room needed on a full disk), then writes
     * the report of why it is there beside it, whole or not at all (a full disk may cut it short): the sweep sends it
     * with the package, or a report of its own without it. Returns where the package waits.
     */
    public static Path setAside(Path zip, Path leftovers, String name, QuarantineReport why) throws IOException {
        Path waiting = place(leftovers, zip, name);
        if (!zip.equals(waiting)) {
            Files.move(zip, waiting, StandardCopyOption.REPLACE_EXISTING);
        }
        // written again when already in place (refused again by the sweep): it says now that its refusal was counted
        Path beside = waiting.resolveSibling(waiting.getFileName() + Quarantine.REPORT_SUFFIX);
        Path partial = beside.resolveSibling(beside.getFileName() + ".partial");
        try {
            Files.writeString(partial, Json.MAPPER.writeValueAsString(why), java.nio.charset.StandardCharsets.UTF_8);
            Files.move(partial, beside, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException noRoom) {
            Files.deleteIfExists(partial);
            LOG.warn("{}: the report of why it waits at {} could not be kept beside it ({})", PrepPackage.shown(name, why == null ? null : why.corte()), waiting, noRoom.toString());
        }
        return waiting;
    }

    /**
     * Where a package waits among the leftovers: under its name, or under {@code <n>~<name>} when another package of
     * that name (other bytes: the institute reused a name) waits there already, so neither replaces the other. The
     * same bytes take the place of their copy. No package name holds a {@code ~} ({@link PackageNames}).
     */
    public static Path place(Path leftovers, Path zip, String name) throws IOException {
        Path target = leftovers.resolve(name);
        for (int n = 2; Files.exists(target) && !sameBytes(target, zip); n++) {
            target = leftovers.resolve(n + "~" + name);
        }
        return target;
    }

    private static boolean sameBytes(Path a, Path b) throws IOException {
        return Files.isSameFile(a, b) || Files.size(a) == Files.size(b) && ChecksumFilter.sha256(a).equals(ChecksumFilter.sha256(b));
    }

    /**
     * A leftover as {@link PrepPackage#toString()} names a package in the log, with the corte its name holds: the
     * runbook's grep by corte finds what happened to it after a restart too.
     */
    private String shown(String name) {
        return PrepPackage.shown(name, corteParser == null ? null : corteParser.fromPackageName(name).orElse(null));
    }

    /** The package's name of a file among the leftovers (see {@link #place}). */
    static String packageName(Path leftover) {
        return leftover.getFileName().toString().replaceFirst("^[0-9]+~", "");
    }

    /** At start, before any download: whatever is in the spool was left by an earlier process. */
    private void setAside(Path spoolDir) throws IOException {
        if (!Files.isDirectory(spoolDir)) {
            return;
        }
        List<Path> left;
        try (Stream<Path> files = Files.list(spoolDir)) {
            left = files.filter(Files::isRegularFile).filter(f -> !f.getFileName().toString().endsWith(".part")).toList();
        }
        for (Path f : left) {
            // a download spooled beside another exchange's file of its name is <n>~<name> (PackageDownloader.spoolUnder)
            String name = packageName(f);
            if (name.startsWith(InterruptedPublication.RESUMED_PREFIX)) {
                Files.delete(f); // taken back from the history: it is there
                continue;
            }
            Files.createDirectories(leftovers);
            Files.move(f, place(leftovers, f, name), StandardCopyOption.REPLACE_EXISTING);
            LOG.warn("{}: left in the spool by an earlier process; it goes to the history's check, then to quarantine if it is not there",
                    shown(name));
        }
    }

    /** A leftover not refused for what it is waits its grace, counted from the first sweep that found it. */
    private boolean stillInGrace(Path zip, QuarantineReport refused) {
        if (refused != null && RejectReason.valueOf(refused.reason()).isLasting()) {
            return false;
        }
        java.time.Instant since = waitingSince.computeIfAbsent(zip, z -> {
            LOG.info("{}: not in the history; it goes to quarantine in {} s unless the history has it by then (the source "
                    + "offering it again)", shown(packageName(z)), grace.toSeconds());
            return clock.instant();
        });
        return clock.instant().isBefore(since.plus(grace));
    }

    /** The package a report (or a report cut short) among the leftovers is about; null for a package. */
    private static Path reportOf(Path file) {
        String f = file.getFileName().toString();
        for (String suffix : List.of(Quarantine.REPORT_SUFFIX, Quarantine.REPORT_SUFFIX + ".partial")) {
            if (f.endsWith(suffix)) {
                return file.resolveSibling(f.substring(0, f.length() - suffix.length()));
            }
        }
        return null;
    }

    /** The report of the refusal that left this package here, or null: none, or one that cannot be read. */
    private QuarantineReport refusal(Path zip) {
        Path report = zip.resolveSibling(zip.getFileName() + Quarantine.REPORT_SUFFIX);
        try {
            QuarantineReport r = Files.exists(report) ? Json.MAPPER.readValue(report.toFile(), QuarantineReport.class) : null;
            if (r != null) {
                RejectReason.valueOf(r.reason());
            }
            return r;
        } catch (IOException | RuntimeException unreadable) {
            LOG.warn("{}: the report beside it cannot be read ({}); sent with a report of its own", shown(packageName(zip)),
                    unreadable.toString());
            return null;
        }
    }

    private static mx.prep.difusor.state.Corte parsedOrNull(String corte) {
        try {
            return mx.prep.difusor.state.Corte.parse(corte);
        } catch (RuntimeException unreadable) {
            return null;
        }
    }

    /** When the refusal happened, if its report says so readably (else the sweep's time stands: never stuck on it). */
    private static Optional<java.time.Instant> refusedAt(QuarantineReport refused) {
        try {
            return Optional.ofNullable(refused.time()).map(java.time.Instant::parse);
        } catch (RuntimeException unreadable) {
            return Optional.empty();
        }
    }

    /** Run on a timer; never fails the caller (S3 down: the next run tries again). */
    public synchronized void sweep() {
        if (!Files.isDirectory(leftovers)) {
            return;
        }
        List<Path> left;
        try (Stream<Path> files = Files.list(leftovers)) {
            List<Path> all = files.filter(Files::isRegularFile).toList();
            left = all.stream().filter(f -> reportOf(f) == null).toList();
            // a report whose package is gone (settled while the report was being written, or cut short by a kill)
            // would be taken for the report of the next leftover of that name
            for (Path f : all) {
                Path zip = reportOf(f);
                if (zip != null && !Files.exists(zip)) {
                    Files.deleteIfExists(f);
                }
            }
        } catch (IOException e) {
            LOG.warn("cannot read the spool leftovers in {} ({})", leftovers, e.toString());
            return;
        }
        for (Path zip : left) {
            String name = packageName(zip);
            try {
                // S3 first: while it does not answer, the package is not hashed again at every run
                Optional<String> archived = history.archivedSha256(name);
                String sha = ChecksumFilter.sha256(zip);
                QuarantineReport refused = refusal(zip);
                // only one without a refusal of its own: a refusal set aside with its report is sent (its time and cause
                // are the memoria's), pointing at the copy in quarantine
                Optional<String> quarantined = refused == null ? quarantine.keptCopyOf(name, sha) : Optional.empty();
                if (archived.isPresent() && archived.get().equals(sha)) {
                    LOG.info("{}: left in the spool by an earlier process, and whole in the history; dropped", shown(name));
                } else if (quarantined.isPresent()) {
                    // fetched again after the restart and refused with a report of its own: the same bytes a second time,
                    // as UNEXPECTED, were a second alert and a false cause in the memoria técnica
                    LOG.info("{}: left in the spool by an earlier process; the same bytes were quarantined since, at {}; dropped", shown(name),
                            quarantined.get());
                } else if (stillInGrace(zip, refused)) {
                    continue;
                } else {
                    // the corte it was refused with (a manifest may have announced it apart from the name)
                    mx.prep.difusor.state.Corte corte = refused != null && refused.corte() != null ? parsedOrNull(refused.corte()) : null;
                    corte = corte != null ? corte : corteParser.fromPackageName(name).orElse(null);
                    PrepPackage pkg = new PrepPackage(name, refused == null ? null : refused.announcedSha256(), null,
                            corte, refused == null ? "spool of an earlier process" : refused.source(), clock.instant());
                    pkg.spooled(zip, Files.size(zip));
                    pkg.hashed(sha);
                    Exchange exchange = new DefaultExchange(context);
                    exchange.setProperty(PrepPackage.PROPERTY, pkg);
                    exchange.setProperty(Quarantine.LEFTOVER, true);
                    if (refused != null) {
                        // refused while S3 and the local disk both failed (counted then), or set aside by the folder's
                        // consumer or the spool's cleanup (not counted yet): its own reason, step and cause
                        if (refused.wasCounted()) {
                            exchange.setProperty(Quarantine.COUNTED, true);
                        }
                        exchange.setProperty(Quarantine.STEP, refused.step());
                        refusedAt(refused).ifPresent(at -> exchange.setProperty(Quarantine.REFUSED_AT, at));
                        exchange.setProperty(Exchange.EXCEPTION_CAUGHT,
                                new PackageRejectedException(RejectReason.valueOf(refused.reason()), refused.cause()));
                    } else {
                        exchange.setProperty(Quarantine.STEP, "download");
                        exchange.setProperty(Exchange.EXCEPTION_CAUGHT, new IllegalStateException(name + ": downloaded by a process that stopped "
                                + "before the package was checked and in the history; not checked against the institute's checksum"));
                    }
                    quarantine.report(exchange);
                }
                Files.deleteIfExists(zip.resolveSibling(zip.getFileName() + Quarantine.REPORT_SUFFIX));
                Files.delete(zip);
                waitingSince.remove(zip);
            } catch (IOException | RuntimeException e) {
                LOG.warn("{}: left in the spool by an earlier process, not settled yet ({}); tried again later", shown(name), e.toString());
            }
        }
    }
}
