package mx.prep.difusor.state;

import java.util.Map;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * What the public sees now: the state object in S3, so that a restarted pod (or the next leader) knows what is
 * published without asking anyone.
 */
public record PublishedState(
        @JsonProperty("package") String packageName,
        String corte,
        String sha256,
        long size,
        int files,
        String receivedAt,
        String publishedAt,
        Map<String, Long> stageMillis) {

    public Corte corteValue() {
        return Corte.parse(corte);
    }

    public boolean isSamePackage(String name, String sha) {
        return packageName.equals(name) && sha256.equalsIgnoreCase(sha == null ? "" : sha.strip());
    }
}
