package mx.prep.difusor.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Object;

/** Reads buckets and packages back for assertions: what the public would get, byte for byte. */
public final class SiteBucket {

    /** One object as served: bytes and the headers that matter. */
    public record Served(byte[] bytes, String contentType, String cacheControl, Map<String, String> metadata) {
    }

    private SiteBucket() {
    }

    public static Map<String, Served> objects(S3Client s3, String bucket, String prefix) {
        Map<String, Served> objects = new TreeMap<>();
        for (S3Object o : s3.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(prefix)).contents()) {
            ResponseBytes<GetObjectResponse> got = s3.getObjectAsBytes(b -> b.bucket(bucket).key(o.key()));
            objects.put(o.key().substring(prefix.length()), new Served(got.asByteArray(), got.response().contentType(),
                    got.response().cacheControl(), got.response().metadata()));
        }
        return objects;
    }

    /** The package's files, path to bytes, directories left out. */
    public static Map<String, byte[]> files(Path zip) throws IOException {
        Map<String, byte[]> files = new TreeMap<>();
        try (ZipFile z = new ZipFile(zip.toFile())) {
            Enumeration<? extends ZipEntry> entries = z.entries();
            while (entries.hasMoreElements()) {
                ZipEntry e = entries.nextElement();
                if (!e.isDirectory()) {
                    try (InputStream in = z.getInputStream(e)) {
                        files.put(e.getName(), in.readAllBytes());
                    }
                }
            }
        }
        return files;
    }
}
