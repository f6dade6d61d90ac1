package mx.prep.difusor.source;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;

import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.DifusorMetrics;
import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.state.CorteParser;

/**
 * Source kind "directory": packages dropped into a local folder (by a sync job, an operator, a benchmark) with their
 * {@code <zip>.sha256} sidecar, which the file consumer waits for as the "done" marker. The file itself is the spool.
 */
public final class IncomingDirectory {

    private static final Logger LOG = LoggerFactory.getLogger(IncomingDirectory.class);

    private final CorteParser corteParser;
    private final Clock clock;
    private final DifusorMetrics metrics;

    public IncomingDirectory(CorteParser corteParser, Clock clock, DifusorMetrics metrics) {
        this.metrics = metrics;
        this.corteParser = corteParser;
        this.clock = clock;
    }

    public PrepPackage receive(Exchange exchange) throws IOException {
        Path zip = Path.of(exchange.getMessage().getHeader("CamelFileAbsolutePath", String.class));
        Path sidecar = zip.resolveSibling(zip.getFileName() + ".sha256");
        PackageOffer offer = new PackageUrlSource(zip.toUri(), null).parse(Files.readString(sidecar, StandardCharsets.UTF_8));
        String name = zip.getFileName().toString();
        PrepPackage pkg = new PrepPackage(name, PackageDownloader.normalisedChecksum(offer.announcedSha256()), null,
                corteParser.fromPackageName(name).orElse(null), zip.toUri().toString(), clock.instant());
        pkg.spooled(zip, Files.size(zip));
        pkg.checksumNames(offer.checksumNames());
        exchange.setProperty(PrepPackage.PROPERTY, pkg);
        metrics.received();
        metrics.announced(pkg.corte());
        // the file consumer removes the file afterwards; only the zip reader needs closing
        exchange.getExchangeExtension().addOnCompletion(new SpoolCleanup(pkg, false));
        LOG.info("{}: received in the incoming directory ({} bytes)", pkg, pkg.size());
        return pkg;
    }
}
