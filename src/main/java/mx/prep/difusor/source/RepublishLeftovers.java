package mx.prep.difusor.source;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Clock;

import org.apache.camel.Route;
import org.apache.camel.support.RoutePolicySupport;

/**
 * Each time the republish route starts (the process starts, or this pod takes the lead), what is already in the folder
 * was copied at another moment: into a standby by mistake, or before the lead moved. Set aside, never published: taken
 * hours later, it replaced the newer cortes on line with the older one nobody asked for then.
 */
public final class RepublishLeftovers extends RoutePolicySupport {

    private final Path folder;
    private final Clock clock;

    public RepublishLeftovers(Path folder, Clock clock) {
        this.folder = folder;
        this.clock = clock;
    }

    @Override
    public void onStart(Route route) {
        try {
            IncomingDirectory.setAsideLeftovers(folder, clock);
        } catch (IOException e) {
            // a folder that cannot be read or moved in: the route must not start on it and publish the leftovers
            throw new UncheckedIOException("republish folder " + folder + ": its leftovers cannot be set aside", e);
        }
    }
}
