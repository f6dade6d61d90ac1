package mx.prep.difusor.observe;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.User;
import io.vertx.ext.auth.authentication.AuthenticationProvider;
import io.vertx.ext.auth.authentication.Credentials;
import io.vertx.ext.auth.authentication.UsernamePasswordCredentials;

/**
 * The one Jolokia user (difusor.jolokia.user / difusor.jolokia.password) as a Vert.x authentication provider, for
 * the BasicAuthHandler Camel puts in front of /observe/jolokia. Both values are compared in constant time.
 */
final class JolokiaUser implements AuthenticationProvider {

    private final String user;
    private final byte[] userBytes;
    private final byte[] passwordBytes;

    JolokiaUser(String user, String password) {
        if (user.isEmpty() || password.isEmpty()) {
            throw new IllegalArgumentException("a Jolokia user needs a name and a password");
        }
        this.user = user;
        this.userBytes = user.getBytes(StandardCharsets.UTF_8);
        this.passwordBytes = password.getBytes(StandardCharsets.UTF_8);
    }

    String name() {
        return user;
    }

    boolean matches(String givenUser, String givenPassword) {
        if (givenUser == null || givenPassword == null) {
            return false;
        }
        // both compared, always: the time taken says nothing about which one was wrong
        boolean userOk = MessageDigest.isEqual(userBytes, givenUser.getBytes(StandardCharsets.UTF_8));
        boolean passwordOk = MessageDigest.isEqual(passwordBytes, givenPassword.getBytes(StandardCharsets.UTF_8));
        return userOk & passwordOk;
    }

    @Override
    public Future<User> authenticate(Credentials credentials) {
        if (credentials instanceof UsernamePasswordCredentials up && matches(up.getUsername(), up.getPassword())) {
            return Future.succeededFuture(User.fromName(user));
        }
        return Future.failedFuture("wrong Jolokia user or password");
    }

    @Override
    public void authenticate(Credentials credentials, Handler<AsyncResult<User>> resultHandler) {
        authenticate(credentials).onComplete(resultHandler);
    }

    @Override
    public void authenticate(JsonObject credentials, Handler<AsyncResult<User>> resultHandler) {
        authenticate(new UsernamePasswordCredentials(credentials)).onComplete(resultHandler);
    }
}
