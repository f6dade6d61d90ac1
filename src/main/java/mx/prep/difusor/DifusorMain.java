package mx.prep.difusor;

import org.apache.camel.main.Main;

import mx.prep.difusor.cluster.Leadership;
import mx.prep.difusor.observe.JolokiaConfiguration;

/** Starts prep-difusor: Camel Main with the top-level application.properties and the YAML routes in routes/. */
public final class DifusorMain {

    private DifusorMain() {
    }

    public static void main(String[] args) throws Exception {
        newMain().run(args);
    }

    /** The Camel Main every run uses, the embedded default and the tests included. */
    public static Main newMain() {
        // the configuration class is named, not scanned for: a scan of this package would add it a second time
        Main main = new Main();
        main.configure().addConfiguration(DifusorConfiguration.class);
        main.configure().addConfiguration(Leadership.class);
        main.configure().addConfiguration(JolokiaConfiguration.class);
        // application.properties sits beside routes/ in the working directory (a ConfigMap mount in Kubernetes)
        main.setDefaultPropertyPlaceholderLocation("file:application.properties");
        return main;
    }
}
