package mx.prep.difusor.publish;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

import org.apache.camel.Exchange;
import org.apache.camel.ExchangeProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.Failures;
import mx.prep.difusor.Json;
import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.RejectReason;
import mx.prep.difusor.quarantine.Quarantine;
import mx.prep.difusor.source.HeldBackPackages;
import mx.prep.difusor.source.PackageOffer;
import mx.prep.difusor.state.PackageLedger;
import mx.prep.difusor.unpack.SiteFile;

/**
 * Dry run: reports what a package would change (uploads, deletions, invalidation paths), or why it would be refused,
 * and touches nothing: no history, no site, no CDN, no state, no quarantine. The report goes to the log and to
 * {@code <work-dir>/dry-run/<package name without .zip>.json}.
 */
public final class DryRun {

    private static final Logger LOG = LoggerFactory.getLogger(DryRun.class);

    private final Path folder;
    private final PackageLedger ledger;
    private final Failures failures;
    private final HeldBackPackages heldBack;

    public DryRun(Path folder, PackageLedger ledger, Failures failures, HeldBackPackages heldBack) {
        this.heldBack = heldBack;
        this.folder = folder;
        this.ledger = ledger;
        this.failures = failures;
    }

    /**
     * What a package would do: {@code publish}, be {@code refused} (reason, step, cause), or {@code failed} (try later).
     * {@code leftovers}: files earlier cortes could not delete (S3 refused) that it would try to delete again, when any.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Report(@JsonProperty("package") String packageName, String corte, String sha256, String outcome, String reason,
            String step, String cause, Integer files, List<String> uploads, List<String> deletions, List<String> leftovers,
            List<String> invalidationPaths, Boolean comparedWithBucketListing) {
    }

    public void report(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg) throws IOException {
        SitePlan plan = pkg.plan();
        Path file = write(pkg.stem(), new Report(pkg.name(), corte(pkg), pkg.sha256(), "publish", null, null, null, pkg.site().files().size(),
                plan.uploads().stream().map(SiteFile::path).toList(), plan.deletions(), plan.leftovers().isEmpty() ? null : plan.leftovers(),
                plan.invalidationPaths(), plan.rebuilt()));
        // reported once: the poll does not fetch it again while the source still offers it
        ledger.settled(pkg.name(), pkg.expectedSha256());
        LOG.info("{}: DRY RUN, nothing changed; would publish {}; report at {}", pkg, plan.summary(), file);
    }

    /**
     * The dead-letter channel in a dry run: the refusal goes into the report instead of the quarantine, which would
     * write the package and a report into the history bucket.
     */
    public void refused(Exchange exchange) throws IOException {
        // a dry run keeps no package, refused or not: its spool file goes
        exchange.setProperty(mx.prep.difusor.quarantine.Quarantine.SETTLED, true);
        Throwable cause = Failures.whatFailed(exchange);
        PrepPackage pkg = exchange.getProperty(PrepPackage.PROPERTY, PrepPackage.class);
        PackageOffer offer = exchange.getProperty(PackageOffer.PROPERTY, PackageOffer.class);
        String step = exchange.getProperty(Quarantine.STEP, "unknown", String.class);
        RejectReason reason = failures.reasonOf(cause);
        // a mismatch is offered again after a pause, as in a real run: the zip at a fixed URL may not be replaced yet
        boolean lasting = reason.isLasting() && !reason.isMismatch();
        String name = pkg != null ? pkg.name() : offer != null && offer.packageName() != null ? offer.packageName() : "unnamed-package";
        String sha = pkg != null ? pkg.expectedSha256() : offer != null ? offer.announcedSha256() : null;
        Path file = write(fileStem(name),
                new Report(name, pkg == null ? null : corte(pkg), pkg == null ? null : pkg.receivedSha256(), lasting ? "refused" : "failed",
                        reason.name(), step, Failures.describe(cause), null, null, null, null, null, null));
        if (lasting) {
            ledger.settled(name, sha);
        } else {
            // S3 or the source down: offered again after a pause, as in a real run (from the incoming folder too)
            java.time.Instant again = ledger.failed(name, sha);
            if (pkg != null) {
                heldBack.holdBack(pkg, again);
            }
        }
        LOG.warn("{}: DRY RUN, nothing changed; would be {} at step {}: {}: {}; report at {}", pkg != null ? pkg : "package " + name,
                lasting ? "refused" : "retried later", step, reason, Failures.describe(cause), file);
    }

    /** A name the source gave (a checksum file's line, say) is no path: only its safe characters name the report. */
    static String fileStem(String name) {
        String stem = name.toLowerCase().endsWith(".zip") ? name.substring(0, name.length() - 4) : name;
        String safe = stem.replaceAll("[^A-Za-z0-9._-]", "_");
        return safe.isEmpty() || safe.startsWith(".") ? "_" + safe : safe;
    }

    private Path write(String stem, Report report) throws IOException {
        Files.createDirectories(folder);
        Path file = folder.resolve(stem + ".json");
        // whole or not at all: whoever watches the folder (a person, a script, the tests) never reads half a report
        Path part = folder.resolve("." + stem + ".json.part");
        try {
            Files.writeString(part, Json.MAPPER.writeValueAsString(report));
            return Files.move(part, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            // a full disk, a report path taken by a folder: no hidden half report is left to pile up beside the others
            try {
                Files.deleteIfExists(part);
            } catch (IOException left) {
                e.addSuppressed(left);   // the write's failure is the one to report
            }
            throw e;
        }
    }

    private static String corte(PrepPackage pkg) {
        return pkg.corte() == null ? null : pkg.corte().toString();
    }
}
