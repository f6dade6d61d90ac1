package mx.prep.difusor.quarantine;

import com.fasterxml.jackson.annotation.JsonProperty;

/** The error report kept in quarantine beside a rejected package. */
public record QuarantineReport(
        @JsonProperty("package") String packageName,
        String corte,
        String step,
        String reason,
        String cause,
        String time,
        String announcedSha256,
        String receivedSha256,
        Long size,
        String source,
        String packageKeptAt) {
}
