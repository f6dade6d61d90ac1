package mx.prep.difusor.source;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.RejectedExecutionException;

import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.fasterxml.jackson.databind.JsonNode;

import mx.prep.difusor.Json;
import mx.prep.difusor.PrepPackage;
import mx.prep.difusor.quarantine.Quarantine;
import mx.prep.difusor.quarantine.RefusalNote;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * A pod stopped while a package's history copy waited for its retry: Camel fails the exchange with its own refusal to
 * go on. The package set aside must say why the retry was needed (S3 slowing down), not "a processor not started". And
 * one whose exchange ends handled before the history copy (a lost lead) is set aside as well.
 */
class SpoolCleanupTest {

    private static final String NAME = "PREP2024_JAL_20240602_2230.zip";

    @TempDir
    Path tmp;

    @Test
    void aStopWhileTheRetryWaitedNamesTheFailureTheRetryWasFor() throws Exception {
        Exchange exchange = failedInTheHistoryStep();
        retried(exchange, slowDown());
        exchange.setException(new RejectedExecutionException("Redelivery not allowed while stopping"));

        JsonNode why = setAsideBy(exchange);
        assertThat(why.path("step").asText()).isEqualTo("history-archiver");
        assertThat(why.path("reason").asText()).isEqualTo("RETRIES_EXHAUSTED");
        assertThat(why.path("cause").asText()).contains("Please reduce your request rate");
    }

    /** The retry's delay ran out after the routes had stopped: the redelivery failed, the S3 failure kept beside it. */
    @Test
    void aRedeliveryIntoAStoppedRouteNamesTheFailureBeforeIt() throws Exception {
        Exchange exchange = failedInTheHistoryStep();
        retried(exchange, slowDown());
        IllegalStateException notStarted = new IllegalStateException("SendProcessor has not been started: sendTo(direct://archive-copy)");
        exchange.setProperty(Exchange.EXCEPTION_CAUGHT, notStarted);
        exchange.setException(notStarted);

        JsonNode why = setAsideBy(exchange);
        assertThat(why.path("reason").asText()).isEqualTo("RETRIES_EXHAUSTED");
        assertThat(why.path("cause").asText()).contains("Please reduce your request rate").doesNotContain("has not been started");
    }

    /** Any other failure is named as it is. */
    @Test
    void aFailureOfItsOwnIsNamedAsItIs() throws Exception {
        Exchange exchange = failedInTheHistoryStep();
        retried(exchange, slowDown());
        exchange.setException(new IllegalStateException("the history answered something unexpected"));

        JsonNode why = setAsideBy(exchange);
        assertThat(why.path("reason").asText()).isEqualTo("UNEXPECTED");
        assertThat(why.path("cause").asText()).contains("the history answered something unexpected");
    }

    /** A failure retried at an earlier step, with success, is not what a later stop cut short. */
    @Test
    void aStopAfterAnEarlierStepsRetrySucceededIsNamedAsItIs() throws Exception {
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        exchange.setProperty(Quarantine.STEP, "download");
        retried(exchange, slowDown());
        exchange.setProperty(Quarantine.STEP, "history-archiver");
        exchange.setException(new RejectedExecutionException("Redelivery not allowed while stopping"));

        JsonNode why = setAsideBy(exchange);
        assertThat(why.path("reason").asText()).isEqualTo("UNEXPECTED");
        assertThat(why.path("cause").asText()).contains("Redelivery not allowed while stopping");
    }

    /**
     * The lead lost (or the process stopping) while the package waited for its turn, before its history copy: the
     * exchange ends handled, not failed, and the package is in neither the history nor the quarantine. Its spool file
     * is set aside for the sweep; it was deleted, and the package lost once its source stopped offering it.
     */
    @Test
    void aLeadLostBeforeTheHistoryCopyLeavesThePackageSetAsideNotDeleted() throws Exception {
        PrepPackage pkg = spooledPackage();
        Exchange exchange = stoppedWhileWaitingForItsTurn(pkg, "receive");

        new SpoolCleanup(pkg, SpoolCleanup.Spool.DELETE_ONCE_SAFE).onDone(exchange);

        Path leftover = SpoolLeftovers.besideSpool(pkg.spoolFile().getParent()).resolve(NAME);
        assertThat(leftover).exists();
        JsonNode why = Json.MAPPER.readTree(leftover.resolveSibling(NAME + Quarantine.REPORT_SUFFIX).toFile());
        assertThat(why.path("cause").asText()).contains("while it waits for its turn");
    }

    /**
     * The same, on a thread a stop interrupted (the wait for the turn caught the interrupt and set the flag again): the
     * report still goes beside the package. Written through a {@code FileChannel}, it would fail on the interrupt
     * ({@code ClosedByInterruptException}), and the sweep would quarantine the package under the step {@code download}
     * and a cause of its own instead of {@code turn} and the stop. JDK 17's {@code Files} streams are not interruptible
     * (checked): this pins it for whoever changes how the report is written.
     */
    @Test
    void aPackageSetAsideOnAnInterruptedThreadKeepsItsReport() throws Exception {
        PrepPackage pkg = spooledPackage();
        Exchange exchange = stoppedWhileWaitingForItsTurn(pkg, "turn");

        Thread.currentThread().interrupt();
        boolean stillInterrupted;
        try {
            new SpoolCleanup(pkg, SpoolCleanup.Spool.DELETE_ONCE_SAFE).onDone(exchange);
        } finally {
            stillInterrupted = Thread.interrupted();   // cleared: the flag must not leak into the next test
        }

        assertThat(stillInterrupted).as("the stop's interrupt is kept for the thread's owner").isTrue();
        Path leftover = SpoolLeftovers.besideSpool(pkg.spoolFile().getParent()).resolve(NAME);
        assertThat(leftover).exists();
        JsonNode why = Json.MAPPER.readTree(leftover.resolveSibling(NAME + Quarantine.REPORT_SUFFIX).toFile());
        assertThat(why.path("step").asText()).isEqualTo("turn");
        assertThat(why.path("cause").asText()).contains("while it waits for its turn");
    }

    /** An exchange the lead's loss (or the process stopping) ended at {@code step}, handled as the route handles it. */
    private static Exchange stoppedWhileWaitingForItsTurn(PrepPackage pkg, String step) {
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        exchange.setProperty(Quarantine.STEP, step);
        exchange.setProperty(Exchange.EXCEPTION_CAUGHT,
                new mx.prep.difusor.cluster.NoLongerLeaderException("package " + NAME + ": this process is stopping while it waits for its turn"));
        exchange.setProperty(PrepPackage.PROPERTY, pkg);
        new RefusalNote(false).process(exchange);   // the handled clause runs after the dead-letter channel's note
        new HeldBackPackages(null, null, null, java.time.Clock.systemUTC()).lostTheLead(exchange);
        return exchange;
    }

    /**
     * A refusal the dead-letter channel could not hand to the quarantine (its route stopped, a forced stop): Camel's
     * dead-letter channel swallows that failure of its own, so the exchange ends handled. The package is in neither the
     * history nor the quarantine: set aside, with the refusal's step and cause. It was deleted.
     */
    @Test
    void aRefusalTheQuarantineNeverKeptIsSetAside() throws Exception {
        Exchange exchange = refusedAtTheChecksum();

        JsonNode why = setAsideBy(exchange);
        assertThat(why.path("step").asText()).isEqualTo("checksum-filter");
        assertThat(why.path("cause").asText()).contains("announced");
    }

    /**
     * The dead-letter channel failed itself (no consumer on the quarantine's route): Camel names that failure and keeps
     * the refusal on it as suppressed. The report names the refusal, which is what a person must look at.
     */
    @Test
    void aRefusalWhoseQuarantineRouteWasStoppedIsReportedAsTheRefusal() throws Exception {
        Exchange exchange = refusedAtTheChecksum();
        // as Camel's FatalFallbackErrorHandler leaves it: its own failure caught, the refusal suppressed on it
        Exception noConsumer = new IllegalStateException("No consumers available on endpoint: direct://quarantine");
        noConsumer.addSuppressed(exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Exception.class));
        exchange.setProperty(Exchange.EXCEPTION_CAUGHT, noConsumer);

        JsonNode why = setAsideBy(exchange);
        assertThat(why.path("step").asText()).isEqualTo("checksum-filter");
        assertThat(why.path("reason").asText()).isEqualTo("CHECKSUM_MISMATCH");
        assertThat(why.path("cause").asText()).contains("announced").doesNotContain("No consumers");
    }

    /** The same refusal once the quarantine kept the package: the spool file is only a copy, deleted. */
    @Test
    void aRefusalTheQuarantineKeptDeletesTheSpoolFile() throws Exception {
        Exchange exchange = refusedAtTheChecksum();
        exchange.setProperty(Quarantine.SETTLED, true);
        PrepPackage pkg = spooledPackage();

        new SpoolCleanup(pkg, SpoolCleanup.Spool.DELETE_ONCE_SAFE).onDone(exchange);

        assertThat(pkg.spoolFile()).doesNotExist();
        assertThat(SpoolLeftovers.besideSpool(pkg.spoolFile().getParent()).resolve(NAME)).doesNotExist();
    }

    /** A dry run keeps no package: its refusal is not noted, and the spool file goes whatever became of the report. */
    @Test
    void aDryRunsRefusalIsNotSetAside() throws Exception {
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        exchange.setProperty(Quarantine.STEP, "checksum-filter");
        exchange.setProperty(Exchange.EXCEPTION_CAUGHT, new mx.prep.difusor.PackageRejectedException(mx.prep.difusor.RejectReason.CHECKSUM_MISMATCH,
                "package " + NAME + ": SHA-256 is not the one announced"));
        new RefusalNote(true).process(exchange);
        PrepPackage pkg = spooledPackage();

        new SpoolCleanup(pkg, SpoolCleanup.Spool.DELETE_ONCE_SAFE).onDone(exchange);

        assertThat(pkg.spoolFile()).doesNotExist();
        assertThat(SpoolLeftovers.besideSpool(pkg.spoolFile().getParent()).resolve(NAME)).doesNotExist();
    }

    /** As the dead-letter channel takes a refusal: the failure caught, noted before the quarantine, the exchange not failed. */
    private static Exchange refusedAtTheChecksum() {
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        exchange.setProperty(Quarantine.STEP, "checksum-filter");
        exchange.setProperty(Exchange.EXCEPTION_CAUGHT, new mx.prep.difusor.PackageRejectedException(mx.prep.difusor.RejectReason.CHECKSUM_MISMATCH,
                "package " + NAME + ": SHA-256 is not the one announced"));
        new RefusalNote(false).process(exchange);
        return exchange;
    }

    /** One already in the history when the lead was lost: the spool file is only a copy, deleted. */
    @Test
    void aLeadLostAfterTheHistoryCopyDeletesTheSpoolFile() throws Exception {
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        exchange.setProperty(Quarantine.STEP, "corte-gate");
        exchange.setProperty(Exchange.EXCEPTION_CAUGHT, new mx.prep.difusor.cluster.NoLongerLeaderException("package " + NAME + ": lead lost"));
        PrepPackage pkg = spooledPackage();
        pkg.archived();
        exchange.setProperty(PrepPackage.PROPERTY, pkg);
        new RefusalNote(false).process(exchange);   // noted as any handled failure, and still not set aside: it is in the history
        new HeldBackPackages(null, null, null, java.time.Clock.systemUTC()).lostTheLead(exchange);

        new SpoolCleanup(pkg, SpoolCleanup.Spool.DELETE_ONCE_SAFE).onDone(exchange);

        assertThat(pkg.spoolFile()).doesNotExist();
        assertThat(SpoolLeftovers.besideSpool(pkg.spoolFile().getParent()).resolve(NAME)).doesNotExist();
    }

    private PrepPackage spooledPackage() throws Exception {
        Path spool = Files.createDirectories(tmp.resolve("spool"));
        Path zip = Files.write(spool.resolve(NAME), new byte[] { 'P', 'K', 3, 4 });
        PrepPackage pkg = new PrepPackage(NAME, null, null, null, "https://prep.example/" + NAME, Instant.now());
        pkg.spooled(zip, 4);
        return pkg;
    }

    /** As the retry channel does: its predicate judges the failure worth a retry. */
    private static void retried(Exchange exchange, Exception failure) {
        exchange.setException(failure);
        assertThat(new mx.prep.difusor.Failures().shouldRetry(exchange)).isTrue();
        exchange.setProperty(Exchange.EXCEPTION_CAUGHT, failure);
        exchange.setException(null);
    }

    private Exchange failedInTheHistoryStep() {
        Exchange exchange = new DefaultExchange(new DefaultCamelContext());
        exchange.setProperty(Quarantine.STEP, "history-archiver");
        return exchange;
    }

    private static S3Exception slowDown() {
        return (S3Exception) S3Exception.builder().statusCode(503)
                .awsErrorDetails(AwsErrorDetails.builder().errorCode("SlowDown").errorMessage("Please reduce your request rate.").build())
                .message("Please reduce your request rate.").build();
    }

    private JsonNode setAsideBy(Exchange exchange) throws Exception {
        Path spool = Files.createDirectories(tmp.resolve("spool"));
        Path zip = Files.write(spool.resolve(NAME), new byte[] { 'P', 'K', 3, 4 });
        PrepPackage pkg = new PrepPackage(NAME, null, null, null, "https://prep.example/" + NAME, Instant.now());
        pkg.spooled(zip, 4);

        new SpoolCleanup(pkg, SpoolCleanup.Spool.DELETE_ONCE_SAFE).onDone(exchange);

        Path leftover = SpoolLeftovers.besideSpool(spool).resolve(NAME);
        assertThat(leftover).exists();
        assertThat(zip).doesNotExist();
        return Json.MAPPER.readTree(leftover.resolveSibling(NAME + Quarantine.REPORT_SUFFIX).toFile());
    }
}
