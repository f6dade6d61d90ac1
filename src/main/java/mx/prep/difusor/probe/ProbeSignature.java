package mx.prep.difusor.probe;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The probe's User-Agent, signed with a key of the difusor's (difusor.probe.signing-key, from a Secret):
 * {@code prep-difusor-probe/1.<epoch second>.<HMAC-SHA256 of it>}, one token of characters CloudFront's access log
 * writes as they are (it URL-encodes spaces, quotes and more). The bare User-Agent is public: anyone
 * sending it was left out of the memoria's visits and filled its "hours monitored". With a key, the memoria takes a
 * request for the probe's only when its signature is right and its time within {@link #SKEW} of the request's;
 * the key stays with the pods and the memoria command (the logs hold one signature per second). Without a key: the bare User-Agent,
 * as before. A key changed during the period (leaked, rotated) is given to the memoria as a previous key with the
 * time it stopped signing (difusor.probe.previous-signing-keys, {@code <key>@<time>}): its signatures verify up to then,
 * and not after, when whoever it leaked to may be using it.
 */
public final class ProbeSignature {

    /** What every probe request's User-Agent starts with. */
    public static final String USER_AGENT = "prep-difusor-probe/1";

    /** How far a signature's time may be from the request's in the access log (clocks, CloudFront's log time). */
    static final Duration SKEW = Duration.ofMinutes(5);

    private static final Pattern SIGNED = Pattern.compile(Pattern.quote(USER_AGENT) + "\\.(\\d{1,12})\\.([0-9a-f]{32})");

    private final SecretKeySpec key;
    /** A key the probe signed with earlier in the period, until a time: it verifies requests up to then, never signs. */
    private record Previous(SecretKeySpec key, Instant until) {
    }

    private final java.util.List<Previous> previous;

    private ProbeSignature(SecretKeySpec key, java.util.List<Previous> previous) {
        this.key = key;
        this.previous = previous;
    }

    /** @param key the signing key; empty or null: unsigned */
    public static ProbeSignature of(String key) {
        return of(key, java.util.List.of());
    }

    /**
     * @param key the signing key; empty or null: unsigned (then no previous key may be given)
     * @param previous keys the probe signed with earlier in the period, each {@code <key>@<ISO time it stopped signing>}
     *                 ({@code 2024-06-03T12:30:00Z} or with its offset, {@code -06:00}); empty ones are left out
     */
    public static ProbeSignature of(String key, java.util.List<String> previous) {
        SecretKeySpec signing = hmacKey(key);
        java.util.List<Previous> verifying = new java.util.ArrayList<>();
        for (int i = 0; i < previous.size(); i++) {
            String entry = previous.get(i);
            if (entry == null || entry.isBlank()) {
                continue;
            }
            int at = entry.lastIndexOf('@');
            Instant until;
            try {
                until = at <= 0 ? null : java.time.OffsetDateTime.parse(entry.substring(at + 1).strip()).toInstant();
            } catch (java.time.format.DateTimeParseException e) {
                until = null;
            }
            if (until == null || entry.substring(0, at).isBlank()) {
                // never the entry itself in the message: it is a key
                throw new IllegalArgumentException("difusor.probe.previous-signing-keys, entry " + (i + 1) + ": write it <key>@<the time"
                        + " it stopped signing> (2024-06-03T12:30:00-06:00): after that time a leaked key proves nothing");
            }
            verifying.add(new Previous(hmacKey(entry.substring(0, at).strip()), until));
        }
        if (signing == null && !verifying.isEmpty()) {
            // without a key the bare name is the probe's: the previous keys would verify nothing
            throw new IllegalArgumentException("difusor.probe.previous-signing-keys are given without difusor.probe.signing-key: give the"
                    + " key the probe signs with now too");
        }
        return new ProbeSignature(signing, verifying);
    }

    private static SecretKeySpec hmacKey(String key) {
        return key == null || key.isEmpty() ? null : new SecretKeySpec(key.getBytes(StandardCharsets.UTF_8), "HmacSHA256");
    }

    public boolean signs() {
        return key != null;
    }

    /** The User-Agent for a request sent at this time. */
    public String userAgent(Instant at) {
        if (key == null) {
            return USER_AGENT;
        }
        long t = at.getEpochSecond();
        return USER_AGENT + "." + t + "." + sign(key, t);
    }

    /** Whether a request names itself the probe (it may not be). */
    public static boolean claims(String userAgent) {
        return userAgent != null && userAgent.startsWith(USER_AGENT);
    }

    /** Whether a User-Agent carries a signature in the probe's form, right or not. */
    public static boolean looksSigned(String userAgent) {
        return userAgent != null && SIGNED.matcher(userAgent).matches();
    }

    /** Whether a request made at this time is the probe's: its User-Agent, signed with this key when there is one. */
    public boolean isProbe(String userAgent, Instant at) {
        if (!claims(userAgent)) {
            return false;
        }
        if (key == null) {
            return true;
        }
        Matcher m = SIGNED.matcher(userAgent);
        if (!m.matches()) {
            return false;
        }
        long t = Long.parseLong(m.group(1));
        if (Math.abs(t - at.getEpochSecond()) > SKEW.toSeconds()) {
            return false;
        }
        byte[] given = m.group(2).getBytes(StandardCharsets.US_ASCII);
        if (MessageDigest.isEqual(sign(key, t).getBytes(StandardCharsets.US_ASCII), given)) {
            return true;
        }
        // the log's time, not the signature's own (which whoever holds the key writes): within the skew of the change
        return previous.stream().filter(p -> !at.isAfter(p.until().plus(SKEW)))
                .anyMatch(p -> MessageDigest.isEqual(sign(p.key(), t).getBytes(StandardCharsets.US_ASCII), given));
    }

    /** The first 128 bits of the HMAC, in hex: enough that nobody guesses one, short enough for a User-Agent. */
    private static String sign(SecretKeySpec key, long t) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            byte[] full = mac.doFinal(Long.toString(t).getBytes(StandardCharsets.US_ASCII));
            return HexFormat.of().formatHex(full, 0, 16);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }
}
