package mx.prep.difusor.testing;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A program a test needs beyond JDK 17 and Maven (kubectl, chromium). On a developer's fresh machine a missing one
 * skips the test, so the README's test command works with only JDK and Maven; under CI (the CI variable set,
 * .ci/run installs them) a missing one fails it, so nothing is silently skipped there.
 */
public final class ExternalTool {

    private ExternalTool() {
    }

    public static void require(String program) {
        boolean present = onPath(program);
        if (!present && System.getenv("CI") != null) {
            fail(program + " is not installed: .ci/run installs it (apt-get), so CI must have it");
        }
        assumeTrue(present, program + " is not installed: this test is skipped (.ci/run installs it)");
    }

    static boolean onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String dir : path.split(File.pathSeparator)) {
            Path candidate = Path.of(dir, program);
            if (Files.isExecutable(candidate)) {
                return true;
            }
        }
        return false;
    }
}
