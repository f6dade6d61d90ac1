package mx.prep.difusor.embedded;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;

/**
 * What the public would see, locally: serves the site bucket over HTTP the way a CDN in front of it would, with
 * each object's Content-Type and Cache-Control. Paths without an extension fall back to index.html (an SPA).
 */
public final class SitePreview implements AutoCloseable {

    private final HttpServer server;
    private final S3Client s3;
    private final String bucket;
    private final String prefix;

    private SitePreview(HttpServer server, S3Client s3, String bucket, String prefix) {
        this.server = server;
        this.s3 = s3;
        this.bucket = bucket;
        this.prefix = prefix;
    }

    public static SitePreview start(int port, S3Client s3, String bucket, String prefix) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 0);
        SitePreview preview = new SitePreview(server, s3, bucket, prefix);
        server.createContext("/", preview::serve);
        server.setExecutor(Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "site-preview");
            t.setDaemon(true);
            return t;
        }));
        server.start();
        return preview;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private void serve(HttpExchange exchange) throws IOException {
        try (exchange) {
            if (!exchange.getRequestMethod().equals("GET") && !exchange.getRequestMethod().equals("HEAD")) {
                send(exchange, 405, "text/plain", "GET only");
                return;
            }
            String path = exchange.getRequestURI().getPath();
            String key = path.endsWith("/") ? path.substring(1) + "index.html" : path.substring(1);
            ResponseBytes<GetObjectResponse> object = get(key);
            if (object == null && !key.substring(key.lastIndexOf('/') + 1).contains(".")) {
                object = get("index.html");
            }
            if (object == null) {
                send(exchange, 404, "text/plain; charset=utf-8", "not published: " + path);
                return;
            }
            GetObjectResponse meta = object.response();
            exchange.getResponseHeaders().set("Content-Type", meta.contentType());
            if (meta.cacheControl() != null) {
                exchange.getResponseHeaders().set("Cache-Control", meta.cacheControl());
            }
            byte[] bytes = object.asByteArray();
            boolean head = exchange.getRequestMethod().equals("HEAD");
            exchange.sendResponseHeaders(200, head ? -1 : bytes.length);
            if (!head) {
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(bytes);
                }
            }
        }
    }

    private ResponseBytes<GetObjectResponse> get(String key) {
        try {
            return s3.getObjectAsBytes(b -> b.bucket(bucket).key(prefix + key));
        } catch (NoSuchKeyException e) {
            return null;
        }
    }

    private static void send(HttpExchange exchange, int status, String type, String text) throws IOException {
        byte[] body = text.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.sendResponseHeaders(status, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
