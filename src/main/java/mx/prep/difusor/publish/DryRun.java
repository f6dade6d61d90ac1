package mx.prep.difusor.publish;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import com.fasterxml.jackson.annotation.JsonProperty;

import org.apache.camel.ExchangeProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import mx.prep.difusor.Json;
import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.unpack.SiteFile;

/**
 * Dry run: reports what a package would change (uploads, deletions, invalidation paths) and touches nothing: no
 * history, no site, no CDN, no state. The report goes to the log and to {@code <work-dir>/dry-run/<package>.json}.
 */
public final class DryRun {

    private static final Logger LOG = LoggerFactory.getLogger(DryRun.class);

    private final Path folder;

    public DryRun(Path folder) {
        this.folder = folder;
    }

    /** The report written for each package. */
    public record Report(@JsonProperty("package") String packageName, String corte, String sha256, int files, java.util.List<String> uploads,
            java.util.List<String> deletions, java.util.List<String> invalidationPaths, boolean comparedWithBucketListing) {
    }

    public void report(@ExchangeProperty(PrepPackage.PROPERTY) PrepPackage pkg) throws IOException {
        SitePlan plan = pkg.plan();
        Report report = new Report(pkg.name(), pkg.corte() == null ? null : pkg.corte().toString(), pkg.sha256(), pkg.site().files().size(),
                plan.uploads().stream().map(SiteFile::path).toList(), plan.deletions(), plan.invalidationPaths(), plan.rebuilt());
        Files.createDirectories(folder);
        Path file = folder.resolve(pkg.stem() + ".json");
        Files.writeString(file, Json.MAPPER.writeValueAsString(report));
        LOG.info("{}: DRY RUN, nothing changed; would publish {}; report at {}", pkg, plan.summary(), file);
    }
}
