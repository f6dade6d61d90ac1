package mx.prep.difusor.publish;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;

import org.junit.jupiter.api.Test;

import mx.prep.difusor.Json;
import mx.prep.difusor.unpack.KnownContent;

/** The manifest as the unzip step reads it: an entry is known only by its path and exact fingerprint. */
class SiteManifestTest {

    private final SiteManifest manifest = new SiteManifest("PREP2024_JAL_20240602_2240.zip", Map.of(
            "data/a.json", new SiteManifest.Entry("sha-a", "md5-a", 10, "application/json", null, "fp-a", null),
            "data/old.json", new SiteManifest.Entry("sha-o", "md5-o", 12, "application/json", null, null, null)));

    @Test
    void anEntryIsKnownByItsPathAndFingerprint() {
        assertThat(manifest.knownContent().lookup("data/a.json", "fp-a")).isEqualTo(new KnownContent.Known("sha-a", "md5-a", 10, "fp-a"));
        assertThat(manifest.knownContent().lookup("data/a.json", "fp-b")).isNull();
        assertThat(manifest.knownContent().lookup("data/b.json", "fp-a")).isNull();
    }

    @Test
    void aManifestWrittenBeforeFingerprintsKnowsNothing() throws Exception {
        assertThat(manifest.knownContent().lookup("data/old.json", null)).isNull();
        String before = "{\"package\":\"P.zip\",\"files\":{\"a.json\":{\"sha256\":\"s\",\"md5\":\"m\",\"size\":1,\"contentType\":\"application/json\"}}}";
        SiteManifest old = Json.MAPPER.readValue(before, SiteManifest.class);
        assertThat(old.files().get("a.json").zip()).isNull();
        assertThat(old.knownContent().lookup("a.json", "anything")).isNull();
    }

    @Test
    void theFingerprintTravelsThroughJson() throws Exception {
        SiteManifest read = Json.MAPPER.readValue(Json.MAPPER.writeValueAsString(manifest), SiteManifest.class);
        assertThat(read.knownContent().lookup("data/a.json", "fp-a")).isEqualTo(new KnownContent.Known("sha-a", "md5-a", 10, "fp-a"));
        assertThat(read.knownContent().lookup("data/a.json", "fp-b")).isNull();
    }

    /**
     * Files S3 refused to delete travel through JSON, sorted; a manifest without any writes no such field (it reads as
     * it did before there was one), and a manifest written before it reads as having none.
     */
    @Test
    void theFilesS3RefusedToDeleteTravelThroughJsonAndAreLeftOutWhenThereAreNone() throws Exception {
        SiteManifest refused = new SiteManifest("P.zip", manifest.files(), new java.util.TreeSet<>(java.util.List.of("data/z.json", "data/b.json")));
        String json = Json.MAPPER.writeValueAsString(refused);
        assertThat(Json.MAPPER.readTree(json).path("undeleted").toString()).isEqualTo("[\"data/b.json\",\"data/z.json\"]");
        assertThat(Json.MAPPER.readValue(json, SiteManifest.class).undeleted()).containsExactly("data/b.json", "data/z.json");

        assertThat(Json.MAPPER.readTree(Json.MAPPER.writeValueAsString(manifest)).has("undeleted")).isFalse();
        String before = "{\"package\":\"P.zip\",\"files\":{\"a.json\":{\"sha256\":\"s\",\"md5\":\"m\",\"size\":1}}}";
        assertThat(Json.MAPPER.readValue(before, SiteManifest.class).undeleted()).isEmpty();
    }
}
