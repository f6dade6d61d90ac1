package mx.prep.difusor.testing;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicReference;

/** A clock that reads the instant the test sets: pauses and ages without waiting for them. */
public final class MovableClock {

    private MovableClock() {
    }

    /** A UTC clock whose instant is {@code now}'s, whatever the test sets it to. */
    public static Clock reading(AtomicReference<Instant> now) {
        return new Clock() {
            @Override
            public ZoneId getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(ZoneId zone) {
                return this;
            }

            @Override
            public Instant instant() {
                return now.get();
            }
        };
    }
}
