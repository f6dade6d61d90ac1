package mx.prep.difusor.testing;

import java.util.List;

/** Log lines captured as the code under test writes them: what an operator reads is asserted, not only what it does. */
public final class CapturedLogs {

    private CapturedLogs() {
    }

    /** Every line logged from now on, with its exception and the exception's causes, until the capture is closed. */
    public static AutoCloseable capture(List<String> logged) {
        var context = (org.apache.logging.log4j.core.LoggerContext) org.apache.logging.log4j.LogManager.getContext(false);
        var capture = new org.apache.logging.log4j.core.appender.AbstractAppender("captured", null, null, true,
                org.apache.logging.log4j.core.config.Property.EMPTY_ARRAY) {
            @Override
            public void append(org.apache.logging.log4j.core.LogEvent event) {
                logged.add(event.getMessage().getFormattedMessage() + thrown(event.getThrown()));
            }
        };
        capture.start();
        context.getConfiguration().getRootLogger().addAppender(capture, org.apache.logging.log4j.Level.ALL, null);
        context.updateLoggers();
        return () -> {
            context.getConfiguration().getRootLogger().removeAppender("captured");
            context.updateLoggers();
        };
    }

    /**
     * An exception as the log shows it, less its stack frames: its causes and suppressed exceptions too (the layout
     * prints them all, so a secret in a cause is in the log).
     */
    private static String thrown(Throwable thrown) {
        StringBuilder text = new StringBuilder();
        java.util.Set<Throwable> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        java.util.Deque<Throwable> next = new java.util.ArrayDeque<>();
        if (thrown != null) {
            next.add(thrown);
        }
        while (!next.isEmpty()) {
            Throwable t = next.poll();
            if (!seen.add(t)) {
                continue;
            }
            text.append(text.length() == 0 ? " " : " Caused by: ").append(t);
            if (t.getCause() != null) {
                next.add(t.getCause());
            }
            next.addAll(java.util.Arrays.asList(t.getSuppressed()));
        }
        return text.toString();
    }
}
