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

    /**
     * Prefixes are used as given; a non-empty one without a trailing '/' gets one. One with an empty, '.' or '..'
     * segment ("q//", "./q/") is refused at start: S3 takes it as it is, while the pod's disk, which mirrors the
     * quarantine's keys, folds it, and a package sent later from there landed under another key than its report's.
     */
    public String prefix(String key) {
        String p = text(key);
        while (p.startsWith("/")) {
            p = p.substring(1);
        }
        String prefix = p.isEmpty() || p.endsWith("/") ? p : p + "/";
        for (String segment : prefix.isEmpty() ? new String[0] : prefix.substring(0, prefix.length() - 1).split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                throw new IllegalStateException("configuration key " + key + " is a prefix of S3 keys without empty, '.' or '..' segments,"
                        + " such as quarantine/ or prep2024/quarantine/, not '" + text(key) + "'");
            }
        }
        return prefix;
    }

    public static String envName(String key) {
        return key.toUpperCase(java.util.Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    /**
     * What Kubernetes injects for a Service of the namespace (its name upper-cased), by name and value (an address, a
     * port, a protocol): no key of ours. A typo such as DIFUSOR_JOLOKIA_PORT=8778 still has a name of that shape, but
     * the Deployment turns the links off (enableServiceLinks: false), where only the shape of the name would tell.
     */
    private static final java.util.regex.Pattern SERVICE_LINK = java.util.regex.Pattern.compile(
            "[A-Z0-9_]+_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_[0-9]+_(TCP|UDP|SCTP)(_PROTO|_PORT|_ADDR)?)?)");
    private static final java.util.regex.Pattern SERVICE_LINK_VALUE = java.util.regex.Pattern.compile(
            "(?i)((tcp|udp|sctp)://)?[0-9a-f.:\\[\\]]+|tcp|udp|sctp");

    /**
     * The keys the routes read as {{key}}: Camel takes their values as they are, where Java strips them ({@link #text}).
     * SettingsTest keeps this list equal to the routes' placeholders.
     */
    static final Set<String> READ_BY_ROUTES = Set.of("difusor.cdn.busy-delay-ms", "difusor.cdn.busy-retries", "difusor.probe.cron",
            "difusor.probe.url", "difusor.publish.dry-run", "difusor.quarantine.send-kept-every-ms", "difusor.republish.directory",
            "difusor.resume.check-every-ms", "difusor.retry.initial-delay-ms", "difusor.retry.max-delay-ms", "difusor.retry.max-redeliveries",
            "difusor.site.bucket", "difusor.source.directory-poll-ms", "difusor.source.directory", "difusor.source.kind",
            "difusor.source.poll-cron");

    /**
     * Refuses to start on an override that names no key, or whose value has blanks around it where a route reads it. A
     * misspelt variable ({@code DIFUSOR_SOURCE_POLLCRON}) would change nothing and say nothing: a night-time
     * {@code kubectl set env} that seems to work. Blanks are stripped where Java reads a key (a Secret's trailing newline
     * is harmless there), not where a route does ({@code "manifest "} starts no poll route). Keys are those of
     * application.properties, which lists every one.
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
                if (!SERVICE_LINK.matcher(name).matches() || !SERVICE_LINK_VALUE.matcher(value).matches()) {
                    refused.add("the environment variable " + name + " names no key" + closest(name, byEnvName.keySet()));
                }
            } else if (READ_BY_ROUTES.contains(byEnvName.get(name)) && !value.equals(value.strip())) {
                refused.add("the environment variable " + name + " has blanks around its value");
            }
        });
        new java.util.TreeSet<>(system.stringPropertyNames()).forEach(name -> {
            if (!name.startsWith("difusor.")) {
                return;
            }
            if (!keys.contains(name)) {
                refused.add("the system property " + name + " names no key" + closest(name, keys));
            } else if (READ_BY_ROUTES.contains(name) && !system.getProperty(name).equals(system.getProperty(name).strip())) {
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
