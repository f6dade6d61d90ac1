package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Layout;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.impl.Log4jLogEvent;
import org.apache.logging.log4j.message.ParameterizedMessage;
import org.junit.jupiter.api.Test;

/** The log as the pod writes it (src/main/resources/log4j2.properties). */
class LogLayoutTest {

    /** A manifest whose sha256 field holds a line break and a made-up line: one line in the log, the break escaped. */
    @Test
    void aLineBreakInAValueFromTheInstituteCannotForgeALogLine() {
        Layout<?> layout = ((LoggerContext) LogManager.getContext(false)).getConfiguration().getAppender("out").getLayout();
        String forged = "abc\n2024-06-02T20:41:00,000 INFO  [main] CorteGate - package PREP2024_JAL_20240602_2040.zip: published";
        var event = Log4jLogEvent.newBuilder().setLoggerName("mx.prep.difusor.source.ManifestSource").setLevel(Level.WARN)
                .setMessage(new ParameterizedMessage("manifest announces sha256 {}", forged)).build();

        String written = new String(layout.toByteArray(event), java.nio.charset.StandardCharsets.UTF_8);

        assertThat(written.lines()).hasSize(1);
        assertThat(written).contains("manifest announces sha256 abc\\n2024-06-02T20:41:00,000 INFO").endsWith("published" + System.lineSeparator());
    }

    /**
     * A time copied from the log into the team's notes (Tiempo del Centro) must not be six hours off: the pod runs in
     * UTC, so the line says its zone.
     */
    @Test
    void aLineIsStampedInTiempoDelCentroWithItsOffset() {
        Layout<?> layout = ((LoggerContext) LogManager.getContext(false)).getConfiguration().getAppender("out").getLayout();
        var event = Log4jLogEvent.newBuilder().setLoggerName("mx.prep.difusor.state.PublicationRecorder").setLevel(Level.INFO)
                .setTimeMillis(java.time.Instant.parse("2024-06-03T02:20:00.123Z").toEpochMilli())
                .setMessage(new ParameterizedMessage("published")).build();

        String written = new String(layout.toByteArray(event), java.nio.charset.StandardCharsets.UTF_8);

        assertThat(written).startsWith("2024-06-02T20:20:00.123-06:00 INFO ");
        assertThat(java.time.OffsetDateTime.parse(written.substring(0, written.indexOf(' '))).toInstant())
                .isEqualTo(java.time.Instant.parse("2024-06-03T02:20:00.123Z"));
    }
}
