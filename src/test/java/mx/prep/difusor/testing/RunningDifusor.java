package mx.prep.difusor.testing;

import java.util.Map;

import org.apache.camel.CamelContext;
import org.apache.camel.component.quartz.QuartzComponent;
import org.apache.camel.main.Main;

import mx.prep.difusor.DifusorMain;

/**
 * prep-difusor started the way production starts it (Camel Main, the top-level application.properties, the YAML
 * routes), with test overrides on top. Stopping it and starting another on the same S3 is a restart.
 */
public final class RunningDifusor implements AutoCloseable {

    private final Main main;

    private RunningDifusor(Main main) {
        this.main = main;
    }

    public static RunningDifusor start(Map<String, String> overrides) throws Exception {
        Main main = DifusorMain.newMain();
        overrides.forEach(main::addOverrideProperty);
        main.start();
        return new RunningDifusor(main);
    }

    public CamelContext context() {
        return main.getCamelContext();
    }

    @Override
    public void close() throws Exception {
        // no poll fired while stopping: one in flight makes the shutdown wait a whole second for it
        if (main.getCamelContext() != null && main.getCamelContext().hasComponent("quartz") instanceof QuartzComponent quartz
                && quartz.getScheduler() != null) {
            quartz.getScheduler().standby();
            // Quartz's graceful stop joins its idle workers, which look at their stop flag every 500 ms: half a second
            // on each of a few hundred stops. The routes have drained before the component stops, so nothing runs there
            quartz.setInterruptJobsOnShutdown(true);
        }
        main.stop();
    }
}
