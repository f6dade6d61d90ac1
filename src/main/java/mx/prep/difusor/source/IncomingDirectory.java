package mx.prep.difusor.source;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.util.List;
import java.util.stream.Stream;

import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.DifusorMetrics;
import mx.prep.difusor.PackageRejectedException;
import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.RejectReason;
import mx.prep.difusor.archive.HistoryArchiver;
import mx.prep.difusor.state.Corte;
import mx.prep.difusor.state.CorteParser;

/**
 * Source kind "directory": packages dropped into a local folder (by a sync job, an operator, a benchmark) with their
 * {@code <zip>.sha256} sidecar, which the file consumer waits for as the "done" marker. The zip is copied into the spool, as a download
 * is spooled; the consumer deletes the folder's file once the exchange is done.
 */
public final class IncomingDirectory {

    private static final Logger LOG = LoggerFactory.getLogger(IncomingDirectory.class);

    private final CorteParser corteParser;
    private final Clock clock;
    private final DifusorMetrics metrics;
    private final HistoryArchiver history;
    private final Path spoolDir;

    public IncomingDirectory(CorteParser corteParser, Path spoolDir, Clock clock, DifusorMetrics metrics, HistoryArchiver history) {
        this.spoolDir = spoolDir;
        this.metrics = metrics;
        this.history = history;
        this.corteParser = corteParser;
        this.clock = clock;
    }

    /**
     * The operators' republish folder as its route starts (the process starts, or this pod takes the lead): a package
     * left there by an earlier process, or copied into this pod while another led, is an operator's request of another
     * moment, which must not go online hours later over a newer corte. Set aside, not published: if its publication had
     * begun, the state says so and it is finished from the history ({@link InterruptedPublication}); if not, the
     * operator copies it again.
     */
    public static void setAsideLeftovers(Path republishDir, Clock clock) throws IOException {
        if (!Files.isDirectory(republishDir)) {
            return;
        }
        List<Path> left;
        try (Stream<Path> files = Files.list(republishDir)) {
            left = files.filter(Files::isRegularFile).filter(f -> f.getFileName().toString().matches(".*\\.zip(\\.sha256)?")).toList();
        }
        if (left.isEmpty()) {
            return;
        }
        Path aside = Files.createDirectories(republishDir.resolve("not-republished-" + clock.instant().toString().replace(':', '-')));
        for (Path f : left) {
            Files.move(f, aside.resolve(f.getFileName()));
        }
        LOG.warn("republish folder {}: {} left there by an earlier process or while another pod led, set aside in {}, not published; copy it"
                + " again (into the leader) if it is still wanted",
                republishDir, left.stream().map(f -> f.getFileName().toString()).toList(), aside);
    }

    /**
     * The corte the history recorded for this very package (same name and SHA-256): the one it was published by, which
     * the manifest may have announced apart from the name (an operator copied it back to publish it again).
     */
    private Corte historyCorte(String name, String sha256) throws IOException {
        var record = history.outcome(name).filter(r -> r.corte() != null && r.sha256() != null && r.sha256().equalsIgnoreCase(sha256));
        try {
            return record.map(r -> Corte.parse(r.corte())).orElse(null);
        } catch (IllegalArgumentException unreadable) {
            // a record edited by hand: its name's corte stands, as with no record (never a failure retried for good)
            LOG.warn("package {}: the corte of its history record cannot be read ({}); its name's is taken", name, unreadable.getMessage());
            return null;
        }
    }

    private PrepPackage received(Exchange exchange, Path zip, String name, String sha256, Corte corte, PackageOffer offer) throws IOException {
        PrepPackage pkg = new PrepPackage(name, sha256, null, corte, zip.toUri().toString(), clock.instant());
        pkg.spooled(zip, Files.size(zip));
        pkg.checksumNames(offer.checksumNames());
        exchange.setProperty(PrepPackage.PROPERTY, pkg);
        return pkg;
    }

    /**
     * A copy of the folder's zip in the spool, under the package's name as a download is (a process killed meanwhile
     * leaves it to the spool's leftovers at the next start), or as {@code <n>~<name>} when another exchange spools that
     * name right now (the republish folder and the watched one at once). Never read in place: a file dropped again over
     * it between its checksum and its upload would put unverified bytes in public.
     */
    private Path spoolCopy(Path zip, String name) throws IOException {
        Files.createDirectories(spoolDir);
        // copied under a download's temporary name, which a start cleans up, then linked in whole under a free name
        Path part = Files.createTempFile(spoolDir, "download-", ".part");
        try {
            Files.copy(zip, part, StandardCopyOption.REPLACE_EXISTING);
            return PackageDownloader.spoolUnder(part, spoolDir.resolve(name));
        } finally {
            Files.deleteIfExists(part);
        }
    }

    public PrepPackage receive(Exchange exchange) throws IOException, PackageRejectedException {
        Path zip = Path.of(exchange.getMessage().getHeader("CamelFileAbsolutePath", String.class));
        // refused before its spool copy and not kept: set aside before the folder's consumer deletes the only copy
        exchange.getExchangeExtension().addOnCompletion(SpoolCleanup.ofFolderFile(zip, spoolDir));
        Path sidecar = zip.resolveSibling(zip.getFileName() + ".sha256");
        // named as the HTTP sources name a package (and as its checksum file's line is read): one name everywhere
        String raw = zip.getFileName().toString();
        String name = PackageNames.named(raw);
        PackageOffer offer;
        try {
            offer = new PackageUrlSource(zip.toUri(), null).parse(InstituteText.decode(Files.readAllBytes(sidecar)));
        } catch (IOException | RuntimeException e) {
            // the file consumer deletes the zip once the exchange is handled: the quarantine must know it to keep it
            PrepPackage unread = new PrepPackage(name, null, null, corteParser.fromPackageName(name).orElse(null), zip.toUri().toString(),
                    clock.instant());
            unread.spooled(zip, Files.size(zip));
            exchange.setProperty(PrepPackage.PROPERTY, unread);
            if (e instanceof CharacterCodingException) {
                // the same bytes at every retry (a sidecar saved as UTF-16, say)
                throw new PackageRejectedException(RejectReason.CHECKSUM_INVALID, name + ": its checksum file " + sidecar.getFileName()
                        + " is not text in ASCII, UTF-8 or UTF-16 with a byte-order mark (" + e + ")");
            }
            throw e;
        }
        String sha256 = PackageDownloader.normalisedChecksum(offer.announcedSha256());
        // known to the exchange before the history is asked: if S3 fails here, the quarantine keeps the folder's zip,
        // which the file consumer deletes once the exchange is handled
        PrepPackage pkg = received(exchange, zip, name, sha256, corteParser.fromPackageName(name).orElse(null), offer);
        Corte recorded = historyCorte(name, sha256);
        if (recorded != null && !recorded.equals(pkg.corte())) {
            pkg.corte(recorded);
        }
        // the last thing that can fail here: a retry of this step (S3 above) copies again, never reads in place
        java.nio.file.attribute.BasicFileAttributes dropped = Files.readAttributes(zip, java.nio.file.attribute.BasicFileAttributes.class);
        // checked, archived and published from one copy: a package dropped again under the same name while this one
        // goes through (a sync's re-issue, a cp over it) changed the bytes between the checksum and the upload
        Path copy = spoolCopy(zip, name);
        pkg.spooled(copy, Files.size(copy));
        pkg.takenFrom(zip);
        // the file consumer removes the folder's file afterwards; the copy is deleted once the package is safe
        exchange.getExchangeExtension().addOnCompletion(new SpoolCleanup(pkg, SpoolCleanup.Spool.DELETE_ONCE_SAFE));
        exchange.getExchangeExtension().addOnCompletion(new DroppedAgain(pkg, zip, dropped, spoolDir, clock));
        metrics.received();
        metrics.announced(pkg.corte());
        LOG.info("{}: received in the incoming directory ({} bytes)", pkg, pkg.size());
        return pkg;
    }

    /**
     * Before the folder's consumer deletes the file it took (runs first: Camel calls the last one added first): another
     * package dropped over it under the same name while this one went through (other bytes, a sync's re-issue) would be
     * deleted unseen. It is set aside with the spool's leftovers, whose sweep keeps it in quarantine with its report.
     */
    private static final class DroppedAgain extends org.apache.camel.support.SynchronizationAdapter {

        private final PrepPackage pkg;
        private final Path zip;
        private final java.nio.file.attribute.BasicFileAttributes taken;
        private final Path spoolDir;
        private final Clock clock;

        DroppedAgain(PrepPackage pkg, Path zip, java.nio.file.attribute.BasicFileAttributes taken, Path spoolDir, Clock clock) {
            this.pkg = pkg;
            this.zip = zip;
            this.taken = taken;
            this.spoolDir = spoolDir;
            this.clock = clock;
        }

        @Override
        public void onComplete(Exchange exchange) {
            // a failed exchange leaves the folder's file where it is: the consumer takes it again
            Path copy = null;
            try {
                if (!Files.exists(zip)) {
                    return;
                }
                var now = Files.readAttributes(zip, java.nio.file.attribute.BasicFileAttributes.class);
                if (now.size() == taken.size() && now.lastModifiedTime().equals(taken.lastModifiedTime())
                        && java.util.Objects.equals(now.fileKey(), taken.fileKey())) {
                    return;
                }
                if (pkg.sha256() != null && pkg.sha256().equalsIgnoreCase(mx.prep.difusor.verify.ChecksumFilter.sha256(zip))) {
                    // the same bytes again (a cp or a sync run twice): nothing is lost with it, no name was reused
                    LOG.info("{}: dropped into {} again with the same bytes while it went through; deleted with it", pkg, zip.getParent());
                    return;
                }
                copy = Files.createTempFile(spoolDir, "download-", ".part");
                Files.copy(zip, copy, StandardCopyOption.REPLACE_EXISTING);
                String cause = "dropped into " + zip.getParent() + " again under its name, with other bytes, while " + pkg.name() + " ("
                        + pkg.sha256() + ") went through; the folder's consumer deleted it with that one";
                Path waiting = SpoolLeftovers.setAside(copy, SpoolLeftovers.besideSpool(spoolDir), pkg.name(),
                        new mx.prep.difusor.quarantine.QuarantineReport(pkg.name(), pkg.corte() == null ? null : pkg.corte().toString(), "receive",
                                RejectReason.NAME_REUSED.name(), cause, clock.instant().toString(), null, null, Files.size(copy),
                                zip.toUri().toString(), null));
                LOG.warn("{}: another package was {}; set aside at {}, for the quarantine", pkg, cause.substring(0, cause.indexOf(';')), waiting);
            } catch (IOException | RuntimeException e) {
                LOG.error("{}: another package dropped over it in {} may be deleted with it by the folder's consumer ({}); drop it again",
                        pkg, zip.getParent(), e.toString());
                try {
                    if (copy != null) {
                        Files.deleteIfExists(copy);   // a copy cut short (a full disk) is no package; a start would remove it
                    }
                } catch (IOException notDeleted) {
                    LOG.warn("{}: cannot delete {} ({})", pkg, copy, notDeleted.toString());
                }
            }
        }
    }
}
