package mx.prep.difusor;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;

import org.apache.camel.spi.PropertiesComponent;

/**
 * Typed access to the difusor.* keys. Reads through Camel's properties component, so every key can be overridden by
 * a JVM system property or by an environment variable (upper case, '.' and '-' as '_').
 */
public final class Settings {

    private final PropertiesComponent properties;

    public Settings(PropertiesComponent properties) {
        this.properties = properties;
    }

    /** A key that must have a value. */
    public String required(String key) {
        String value = text(key);
        if (value.isEmpty()) {
            throw new IllegalStateException("configuration key " + key + " has no value (set it in application.properties, as -D"
                    + key + "=... or as the environment variable " + envName(key) + ")");
        }
        return value;
    }

    /** A key that may be empty: empty string when unset. */
    public String text(String key) {
        return properties.resolveProperty(key).map(String::strip).orElse("");
    }

    public int integer(String key) {
        return Integer.parseInt(required(key));
    }

    public long number(String key) {
        return Long.parseLong(required(key));
    }

    public boolean flag(String key) {
        return Boolean.parseBoolean(required(key));
    }

    public Duration millis(String key) {
        return Duration.ofMillis(number(key));
    }

    /** Comma-separated, blanks dropped. */
    public List<String> list(String key) {
        return Arrays.stream(text(key).split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
    }

    /** Prefixes are used as given; a non-empty one without a trailing '/' gets one. */
    public String prefix(String key) {
        String p = text(key);
        while (p.startsWith("/")) {
            p = p.substring(1);
        }
        return p.isEmpty() || p.endsWith("/") ? p : p + "/";
    }

    public static String envName(String key) {
        return key.toUpperCase().replace('.', '_').replace('-', '_');
    }
}
