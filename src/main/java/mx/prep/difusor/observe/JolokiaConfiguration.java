package mx.prep.difusor.observe;

import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.Route;
import org.apache.camel.Service;
import org.apache.camel.component.platform.http.main.MainHttpServer;
import org.apache.camel.component.platform.http.main.ManagementHttpServer;
import org.apache.camel.component.platform.http.vertx.auth.AuthenticationConfig;
import org.apache.camel.component.platform.http.vertx.auth.AuthenticationConfig.AuthenticationConfigEntry;
import org.apache.camel.support.LifecycleStrategySupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.vertx.ext.auth.authentication.AuthenticationProvider;
import io.vertx.ext.web.handler.AuthenticationHandler;
import io.vertx.ext.web.handler.BasicAuthHandler;

import mx.prep.difusor.Settings;

/**
 * Puts HTTP Basic authentication in front of Jolokia on the management port (camel.management.jolokia-enabled,
 * path camel.management.jolokia-path, /observe/jolokia), for one user: difusor.jolokia.user and
 * difusor.jolokia.password. What an authenticated user may do is the Jolokia access policy,
 * src/main/resources/jolokia-access.xml.
 * <p>
 * Camel 4.17's own management-server authentication (camel.management.authentication-enabled) only takes its users
 * from a Vert.x properties file (camel.management.basic-properties-file, plain-text passwords) or a JWT keystore.
 * Here the user goes into the same mechanism, Camel's {@link AuthenticationConfig} of the management server, with a
 * provider built from the two keys: Camel installs the handler on the router before any route of the management
 * server, so no request reaches Jolokia without it. Health (/observe/health) and metrics (/observe/metrics) stay
 * open for the kubelet and Prometheus.
 * <p>
 * Without a password, Jolokia is not served at all (the path answers 404), whatever camel.management.jolokia-enabled
 * says: never an open Jolokia.
 */
public class JolokiaConfiguration implements CamelConfiguration {

    private static final Logger LOG = LoggerFactory.getLogger(JolokiaConfiguration.class);
    static final String REALM = "prep-difusor";

    @Override
    public void configure(CamelContext context) throws Exception {
        Settings settings = new Settings(context.getPropertiesComponent());
        String user = settings.text("difusor.jolokia.user");
        String password = settings.text("difusor.jolokia.password");
        JolokiaUser jolokiaUser = user.isEmpty() || password.isEmpty() ? null : new JolokiaUser(user, password);
        // Camel Main creates (and initialises) the management server before it runs the configuration classes, and
        // its Vert.x router, with the authentication handlers, only when the context starts: there is time to add one
        ManagementHttpServer server = context.hasService(ManagementHttpServer.class);
        if (server != null) {
            secure(context, server, jolokiaUser);
        } else {
            // should a later Camel create it afterwards: catch it when it is added
            context.addLifecycleStrategy(new LifecycleStrategySupport() {
                @Override
                public void onServiceAdd(CamelContext camelContext, Service service, Route route) {
                    if (service instanceof ManagementHttpServer added) {
                        secure(camelContext, added, jolokiaUser);
                    }
                }
            });
        }
    }

    static void secure(CamelContext context, ManagementHttpServer server, JolokiaUser user) {
        if (!server.isJolokiaEnabled()) {
            return;
        }
        if (server.isStarted() || server.isStarting()) {
            // too late to put anything in front of it: better no difusor than an open Jolokia
            throw new IllegalStateException("Jolokia is already served on port " + server.getPort() + ": it cannot be authenticated any more");
        }
        String path = server.getJolokiaPath();
        if (user == null) {
            server.setJolokiaEnabled(false);
            LOG.warn("Jolokia ({}) is off: difusor.jolokia.user or difusor.jolokia.password (DIFUSOR_JOLOKIA_PASSWORD) is empty", path);
            return;
        }
        MainHttpServer business = context.hasService(MainHttpServer.class);
        if (business != null && business.getPort() == server.getPort()) {
            // the management server would reuse the business server's router, which never sees this configuration
            server.setJolokiaEnabled(false);
            LOG.error("Jolokia is off: camel.management.port {} is also camel.server.port, where it cannot be authenticated",
                    server.getPort());
            return;
        }
        AuthenticationConfigEntry entry = new AuthenticationConfigEntry();
        // the very pattern ManagementHttpServer routes to Jolokia
        entry.setPath(path + "/*");
        entry.setAuthenticationProviderFactory(vertx -> user);
        entry.setAuthenticationHandlerFactory(new AuthenticationConfig.AuthenticationHandlerFactory() {
            @Override
            public <T extends AuthenticationProvider> AuthenticationHandler createAuthenticationHandler(T provider) {
                return BasicAuthHandler.create(provider, REALM);
            }
        });
        AuthenticationConfig auth = server.getConfiguration().getAuthenticationConfig();
        auth.getEntries().add(entry);
        auth.setEnabled(true);
        LOG.info("Jolokia on port {} at {}: Basic authentication (user '{}'), access policy jolokia-access.xml", server.getPort(), path,
                user.name());
    }
}
