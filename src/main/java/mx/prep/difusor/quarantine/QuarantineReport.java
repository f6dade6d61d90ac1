package mx.prep.difusor.quarantine;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The error report kept in quarantine beside a rejected package.
 *
 * @param refusalCounted true only beside a package set aside in the spool's leftovers after its refusal was counted
 *                (difusor_packages_rejected_total): the sweep that sends it does not count it again
 */
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
        String packageKeptAt,
        @JsonInclude(JsonInclude.Include.NON_NULL) Boolean refusalCounted) {

    public QuarantineReport(String packageName, String corte, String step, String reason, String cause, String time, String announcedSha256,
            String receivedSha256, Long size, String source, String packageKeptAt) {
        this(packageName, corte, step, reason, cause, time, announcedSha256, receivedSha256, size, source, packageKeptAt, null);
    }

    /** This report, marked as counted already. */
    public QuarantineReport asCounted() {
        return new QuarantineReport(packageName, corte, step, reason, cause, time, announcedSha256, receivedSha256, size, source,
                packageKeptAt, true);
    }

    /** This report, naming where its package is kept now. */
    public QuarantineReport keptAt(String where) {
        return new QuarantineReport(packageName, corte, step, reason, cause, time, announcedSha256, receivedSha256, size, source,
                where, refusalCounted);
    }

    public boolean wasCounted() {
        return Boolean.TRUE.equals(refusalCounted);
    }
}
