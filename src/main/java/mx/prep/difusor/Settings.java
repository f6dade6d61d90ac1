package mx.prep.difusor;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

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
        return key.toUpperCase(java.util.Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    /** What Kubernetes injects for a Service of the namespace (its name upper-cased): no key of ours, never a typo. */
    private static final java.util.regex.Pattern SERVICE_LINK = java.util.regex.Pattern.compile(
            "[A-Z0-9_]+_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_[0-9]+_(TCP|UDP|SCTP)(_PROTO|_PORT|_ADDR)?)?)");

    /**
     * Refuses to start on an override that names no key, or whose value has blanks around it. A misspelt variable
     * ({@code DIFUSOR_SOURCE_POLLCRON}) would change nothing and say nothing: a night-time {@code kubectl set env} that
     * seems to work. Blanks are stripped where Java reads a key, not where a route does ({@code "manifest "} starts no
     * poll route). Keys are those of application.properties, which lists every one.
     */
    public static void requireKnownOverrides(PropertiesComponent properties, Map<String, String> environment, Properties system) {
        Set<String> keys = properties.loadProperties(k -> k.startsWith("difusor.")).stringPropertyNames();
        List<String> refused = strayOverrides(keys, environment, system);
        if (!refused.isEmpty()) {
            throw new IllegalStateException("configuration: " + String.join("; ", refused));
        }
    }

    static List<String> strayOverrides(Set<String> keys, Map<String, String> environment, Properties system) {
        Map<String, String> byEnvName = new java.util.HashMap<>();
        keys.forEach(k -> byEnvName.put(envName(k), k));
        List<String> refused = new java.util.ArrayList<>();
        new java.util.TreeMap<>(environment).forEach((name, value) -> {
            if (!name.startsWith("DIFUSOR_")) {
                return;
            }
            if (!byEnvName.containsKey(name)) {
                if (!SERVICE_LINK.matcher(name).matches()) {
                    refused.add("the environment variable " + name + " names no key" + closest(name, byEnvName.keySet()));
                }
            } else if (!value.equals(value.strip())) {
                refused.add("the environment variable " + name + " has blanks around its value");
            }
        });
        new java.util.TreeSet<>(system.stringPropertyNames()).forEach(name -> {
            if (!name.startsWith("difusor.")) {
                return;
            }
            if (!keys.contains(name)) {
                refused.add("the system property " + name + " names no key" + closest(name, keys));
            } else if (!system.getProperty(name).equals(system.getProperty(name).strip())) {
                refused.add("the system property " + name + " has blanks around its value");
            }
        });
        return refused;
    }

    /** The key meant when only a separator is missing, doubled or swapped ({@code POLLCRON}, {@code poll.cron}). */
    private static String closest(String name, Set<String> known) {
        String bare = name.replaceAll("[._-]", "").toUpperCase(java.util.Locale.ROOT);
        return known.stream().filter(k -> k.replaceAll("[._-]", "").toUpperCase(java.util.Locale.ROOT).equals(bare)).findFirst()
                .map(k -> " (" + k + "?)").orElse(" (application.properties lists every key)");
    }
}
