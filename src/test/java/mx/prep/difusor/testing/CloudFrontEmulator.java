package mx.prep.difusor.testing;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.extension.ResponseDefinitionTransformerV2;
import com.github.tomakehurst.wiremock.http.RequestMethod;
import com.github.tomakehurst.wiremock.http.ResponseDefinition;
import com.github.tomakehurst.wiremock.stubbing.ServeEvent;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * In-process HTTP emulation of the CloudFront REST API (version 2020-05-31), limited to
 * CreateInvalidation and GetInvalidation, so tests can drive the real AWS SDK v2 client and
 * inspect what it actually put on the wire.
 *
 * <p>Error codes and HTTP statuses follow the CloudFront API reference and the status codes the
 * SDK registers for its modeled exceptions, so the SDK maps them to the same exception types it
 * would against the real service.
 */
public final class CloudFrontEmulator implements AutoCloseable {

    public static final String API_VERSION = "2020-05-31";
    public static final String XML_NAMESPACE = "http://cloudfront.amazonaws.com/doc/2020-05-31/";
    /** CloudFront rejects more paths than this in one batch. */
    public static final int MAX_PATHS_PER_BATCH = 3000;
    /** CloudFront's limit of wildcard paths in progress (checked per batch here: one batch above it can never be created). */
    public static final int MAX_WILDCARDS_IN_PROGRESS = 15;

    private static final Pattern CREATE_PATH =
            Pattern.compile("^/" + API_VERSION + "/distribution/([^/]+)/invalidation/?$");
    private static final Pattern GET_PATH =
            Pattern.compile("^/" + API_VERSION + "/distribution/([^/]+)/invalidation/([^/]+)$");
    // Shape of a SigV4 header as the SDK writes it; the signature itself is not recomputed.
    private static final Pattern SIGV4 = Pattern.compile(
            "^AWS4-HMAC-SHA256 Credential=[^/\\s]+/\\d{8}/[a-z0-9-]+/cloudfront/aws4_request,\\s*"
                    + "SignedHeaders=([a-z0-9;-]+),\\s*Signature=[0-9a-f]{64}$");
    private static final List<String> HEADERS_OF_INTEREST = List.of(
            "Authorization", "Content-Type", "X-Amz-Date", "X-Amz-Security-Token",
            "amz-sdk-invocation-id", "amz-sdk-request", "User-Agent", "Host");
    private static final DateTimeFormatter ISO_MILLIS =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);
    private static final String ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    /**
     * One CreateInvalidation request as received on the wire, with the emulator's answer.
     *
     * @param distributionId id taken from the URL
     * @param callerReference parsed CallerReference, null if the body could not be parsed
     * @param paths parsed Path items in wire order (empty if unparseable)
     * @param rawBody request body exactly as received
     * @param headers selected request headers (case-insensitive keys)
     * @param responseStatus HTTP status the emulator answered with
     * @param errorCode CloudFront error code answered, null on success
     * @param invalidationId id of the invalidation returned (new or pre-existing), null on error
     */
    public record ReceivedInvalidation(
            String distributionId,
            String callerReference,
            List<String> paths,
            String rawBody,
            Map<String, String> headers,
            int responseStatus,
            String errorCode,
            String invalidationId) {

        /** Case-insensitive lookup of a recorded header, null if absent. */
        public String header(String name) {
            return headers.get(name);
        }

        public boolean succeeded() {
            return errorCode == null;
        }
    }

    private record Failure(int status, String errorCode) {}

    private static final class StoredInvalidation {
        final String id;
        final String distributionId;
        final String callerReference;
        final List<String> paths;
        final Instant createTime;
        final ReceivedInvalidation origin;
        boolean completed;

        StoredInvalidation(String id, ReceivedInvalidation origin, Instant createTime) {
            this.id = id;
            this.distributionId = origin.distributionId();
            this.callerReference = origin.callerReference();
            this.paths = origin.paths();
            this.createTime = createTime;
            this.origin = origin;
        }
    }

    /** Thrown inside the handler to short-circuit into an XML error response. */
    private static final class ApiError extends RuntimeException {
        private static final long serialVersionUID = 1L;

        final int status;
        final String code;

        ApiError(int status, String code, String message) {
            super(message, null, false, false);
            this.status = status;
            this.code = code;
        }
    }

    private final Object lock = new Object();
    private final SecureRandom random = new SecureRandom();
    private final Set<String> distributions = new HashSet<>();
    private final List<ReceivedInvalidation> requests = new ArrayList<>();
    // Insertion order = creation order, which created() exposes.
    private final Map<String, StoredInvalidation> invalidationsById = new LinkedHashMap<>();
    private final Map<String, StoredInvalidation> byCallerReference = new HashMap<>();
    private final Deque<Failure> pendingFailures = new ArrayDeque<>();
    private final Map<String, Deque<Failure>> pendingFailuresFor = new java.util.HashMap<>();
    private final WireMockServer server;

    private CloudFrontEmulator() {
        server = new WireMockServer(options()
                .bindAddress("127.0.0.1")
                .dynamicPort()
                .extensions(new Handler()));
    }

    public static CloudFrontEmulator start() {
        CloudFrontEmulator emulator = new CloudFrontEmulator();
        emulator.server.start();
        // Catch-all stub: every request is answered by the Handler transformer.
        emulator.server.stubFor(any(anyUrl()).willReturn(aResponse().withStatus(500)));
        return emulator;
    }

    /** Base URI to pass to {@code CloudFrontClient.builder().endpointOverride(...)}. */
    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.port());
    }

    private volatile Runnable onArrival = () -> { };

    /**
     * Runs on the emulator's thread as each CreateInvalidation request arrives, before it is answered: a test reads
     * there what else had happened by then (the S3 requests a proxy saw, say).
     */
    public void onArrival(Runnable action) {
        onArrival = action;
    }

    /** Registers a distribution id; requests for any other id get NoSuchDistribution. */
    public void addDistribution(String id) {
        synchronized (lock) {
            distributions.add(id);
        }
    }

    /** Every CreateInvalidation request received, in arrival order, including rejected ones. */
    public List<ReceivedInvalidation> requests() {
        synchronized (lock) {
            return List.copyOf(requests);
        }
    }

    /** Distinct invalidations actually created for a distribution, as their creating request. */
    public List<ReceivedInvalidation> created(String distributionId) {
        synchronized (lock) {
            List<ReceivedInvalidation> result = new ArrayList<>();
            for (StoredInvalidation inv : invalidationsById.values()) {
                if (inv.distributionId.equals(distributionId)) {
                    result.add(inv.origin);
                }
            }
            return List.copyOf(result);
        }
    }

    /** When the latest invalidation of a distribution was created (its request received), if it has any. */
    public java.util.Optional<Instant> lastCreated(String distributionId) {
        synchronized (lock) {
            return invalidationsById.values().stream().filter(inv -> inv.distributionId.equals(distributionId))
                    .map(inv -> inv.createTime).max(Instant::compareTo);
        }
    }

    /**
     * Answers the next {@code times} CreateInvalidation requests with the given error (after
     * any failures queued earlier), before any validation, like a throttling front end would.
     */
    public void failNext(int times, int status, String errorCode) {
        if (times < 0 || status < 400 || status > 599 || errorCode == null || errorCode.isBlank()) {
            throw new IllegalArgumentException("times>=0, 4xx/5xx status and an error code needed");
        }
        synchronized (lock) {
            for (int i = 0; i < times; i++) {
                pendingFailures.add(new Failure(status, errorCode));
            }
        }
    }

    /**
     * Answers the next {@code times} CreateInvalidation requests for one distribution with the given error (one busy
     * with its own invalidations while another is not), after the failures {@link #failNext} queued for any.
     */
    public void failNextFor(String distributionId, int times, int status, String errorCode) {
        if (times < 0 || status < 400 || status > 599 || errorCode == null || errorCode.isBlank()) {
            throw new IllegalArgumentException("times>=0, 4xx/5xx status and an error code needed");
        }
        synchronized (lock) {
            for (int i = 0; i < times; i++) {
                pendingFailuresFor.computeIfAbsent(distributionId, d -> new java.util.ArrayDeque<>()).add(new Failure(status, errorCode));
            }
        }
    }

    /** Drops the failures still queued: the next CreateInvalidation succeeds. */
    public void clearFailures() {
        synchronized (lock) {
            pendingFailures.clear();
            pendingFailuresFor.clear();
        }
    }

    /** Marks every invalidation created so far as Completed (later ones start InProgress). */
    public void completeAll() {
        synchronized (lock) {
            invalidationsById.values().forEach(inv -> inv.completed = true);
        }
    }

    /** Forgets requests, invalidations and queued failures; registered distributions remain. */
    public void reset() {
        synchronized (lock) {
            requests.clear();
            invalidationsById.clear();
            byCallerReference.clear();
            pendingFailures.clear();
            pendingFailuresFor.clear();
        }
        server.resetRequests();
    }

    @Override
    public void close() {
        server.stop();
    }

    // ---------------------------------------------------------------------------------------

    private final class Handler implements ResponseDefinitionTransformerV2 {
        @Override
        public String getName() {
            return "cloudfront-emulator-" + System.identityHashCode(CloudFrontEmulator.this);
        }

        @Override
        public ResponseDefinition transform(ServeEvent serveEvent) {
            return handle(serveEvent.getRequest());
        }
    }

    private ResponseDefinition handle(LoggedRequest request) {
        String url = request.getUrl();
        int query = url.indexOf('?');
        String path = query >= 0 ? url.substring(0, query) : url;
        Matcher create = CREATE_PATH.matcher(path);
        Matcher get = GET_PATH.matcher(path);
        if (RequestMethod.POST.equals(request.getMethod()) && create.matches()) {
            onArrival.run();
        }
        synchronized (lock) {
            if (RequestMethod.POST.equals(request.getMethod()) && create.matches()) {
                return createInvalidation(request, create.group(1));
            }
            if (RequestMethod.GET.equals(request.getMethod()) && get.matches()) {
                return getInvalidation(request, get.group(1), get.group(2));
            }
        }
        // Deliberately not a code the SDK models, so a test can't mistake it for a real answer.
        return error(404, "NotEmulated",
                "The emulator does not implement " + request.getMethod() + " " + path);
    }

    private ResponseDefinition createInvalidation(LoggedRequest request, String distributionId) {
        String body = request.getBodyAsString();
        Map<String, String> headers = headersOfInterest(request);
        ParsedBatch batch = null;
        ApiError parseError = null;
        try {
            batch = parseBatch(body);
        } catch (ApiError e) {
            parseError = e;
        }
        String callerReference = batch == null ? null : batch.callerReference;
        List<String> paths = batch == null ? List.of() : batch.paths;

        ApiError failure = null;
        StoredInvalidation result = null;
        boolean isNew = false;
        try {
            checkSignature(request);
            Failure injected = pendingFailures.poll();
            if (injected == null && pendingFailuresFor.containsKey(distributionId)) {
                injected = pendingFailuresFor.get(distributionId).poll();
            }
            if (injected != null) {
                throw new ApiError(injected.status(), injected.errorCode(),
                        "Injected failure: " + injected.errorCode());
            }
            checkXmlContentType(request);
            if (parseError != null) {
                throw parseError;
            }
            if (!distributions.contains(distributionId)) {
                throw new ApiError(404, "NoSuchDistribution",
                        "The specified distribution does not exist.");
            }
            validateBatch(batch);
            StoredInvalidation existing = byCallerReference.get(distributionId + '\n' + callerReference);
            if (existing != null) {
                // CloudFront's idempotency rule: same reference + same paths replays the original.
                if (!existing.paths.equals(paths)) {
                    throw new ApiError(409, "InvalidationBatchAlreadyExists",
                            "Invalidation batch specified with CallerReference " + callerReference
                                    + " already exists with different paths.");
                }
                result = existing;
            } else {
                isNew = true;
            }
        } catch (ApiError e) {
            failure = e;
        }

        if (failure != null) {
            requests.add(new ReceivedInvalidation(distributionId, callerReference, paths, body,
                    headers, failure.status, failure.code, null));
            return error(failure.status, failure.code, failure.getMessage());
        }
        String id = isNew ? newInvalidationId() : result.id;
        ReceivedInvalidation received = new ReceivedInvalidation(distributionId, callerReference,
                paths, body, headers, 201, null, id);
        requests.add(received);
        if (isNew) {
            result = new StoredInvalidation(id, received, Instant.now());
            invalidationsById.put(id, result);
            byCallerReference.put(distributionId + '\n' + callerReference, result);
        }
        // The SDK treats any 2xx as success, so a replay answers 201 as the first call did.
        return aResponse()
                .withStatus(201)
                .withHeader("Content-Type", "text/xml")
                .withHeader("x-amz-request-id", UUID.randomUUID().toString())
                .withHeader("Location", endpoint() + "/" + API_VERSION + "/distribution/"
                        + distributionId + "/invalidation/" + id)
                .withBody(invalidationXml(result))
                .build();
    }

    private ResponseDefinition getInvalidation(LoggedRequest request, String distributionId,
            String invalidationId) {
        try {
            checkSignature(request);
            if (!distributions.contains(distributionId)) {
                throw new ApiError(404, "NoSuchDistribution",
                        "The specified distribution does not exist.");
            }
            StoredInvalidation inv = invalidationsById.get(invalidationId);
            if (inv == null || !inv.distributionId.equals(distributionId)) {
                throw new ApiError(404, "NoSuchInvalidation",
                        "The specified invalidation does not exist.");
            }
            return aResponse()
                    .withStatus(200)
                    .withHeader("Content-Type", "text/xml")
                    .withHeader("x-amz-request-id", UUID.randomUUID().toString())
                    .withBody(invalidationXml(inv))
                    .build();
        } catch (ApiError e) {
            return error(e.status, e.code, e.getMessage());
        }
    }

    private static Map<String, String> headersOfInterest(LoggedRequest request) {
        Map<String, String> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        for (String name : HEADERS_OF_INTEREST) {
            String value = request.getHeader(name);
            if (value != null) {
                headers.put(name, value);
            }
        }
        return Collections.unmodifiableMap(headers);
    }

    private static void checkSignature(LoggedRequest request) {
        String authorization = request.getHeader("Authorization");
        if (authorization == null || authorization.isBlank()) {
            throw new ApiError(403, "MissingAuthenticationToken",
                    "Request is missing Authentication Token");
        }
        Matcher m = SIGV4.matcher(authorization.trim());
        if (!m.matches()) {
            throw new ApiError(403, "IncompleteSignature",
                    "Authorization header is not a well-formed AWS SigV4 signature");
        }
        List<String> signed = List.of(m.group(1).split(";"));
        if (!signed.contains("host") || !signed.contains("x-amz-date")
                || request.getHeader("X-Amz-Date") == null) {
            throw new ApiError(403, "IncompleteSignature",
                    "SigV4 signature must cover host and x-amz-date");
        }
    }

    private static void checkXmlContentType(LoggedRequest request) {
        String contentType = request.getHeader("Content-Type");
        String mime = contentType == null ? "" : contentType.split(";")[0].trim().toLowerCase(Locale.ROOT);
        if (!mime.equals("application/xml") && !mime.equals("text/xml")) {
            throw new ApiError(400, "InvalidArgument",
                    "Content-Type must be XML but was " + contentType);
        }
    }

    private record ParsedBatch(String callerReference, Integer quantity, List<String> paths) {}

    private static ParsedBatch parseBatch(String body) {
        if (body == null || body.isBlank()) {
            throw new ApiError(400, "MissingBody", "The request body is empty.");
        }
        Document doc;
        try {
            DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
            factory.setNamespaceAware(true);
            // The body is untrusted input: no DTDs or external entities.
            factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            factory.setExpandEntityReferences(false);
            DocumentBuilder builder = factory.newDocumentBuilder();
            builder.setErrorHandler(null);
            doc = builder.parse(new ByteArrayInputStream(body.getBytes(StandardCharsets.UTF_8)));
        } catch (Exception e) {
            throw new ApiError(400, "InvalidArgument", "Malformed XML: " + e.getMessage());
        }
        Element root = doc.getDocumentElement();
        if (!"InvalidationBatch".equals(root.getLocalName())
                || !XML_NAMESPACE.equals(root.getNamespaceURI())) {
            throw new ApiError(400, "InvalidArgument", "Expected {" + XML_NAMESPACE
                    + "}InvalidationBatch but got {" + root.getNamespaceURI() + "}" + root.getLocalName());
        }
        Element pathsEl = child(root, "Paths");
        Element callerEl = child(root, "CallerReference");
        if (pathsEl == null) {
            throw new ApiError(400, "InvalidArgument", "InvalidationBatch/Paths is required.");
        }
        Element quantityEl = child(pathsEl, "Quantity");
        Integer quantity = null;
        if (quantityEl != null) {
            try {
                quantity = Integer.valueOf(quantityEl.getTextContent().trim());
            } catch (NumberFormatException e) {
                throw new ApiError(400, "InvalidArgument", "Paths/Quantity is not an integer.");
            }
        }
        List<String> paths = new ArrayList<>();
        Element itemsEl = child(pathsEl, "Items");
        if (itemsEl != null) {
            for (Node n = itemsEl.getFirstChild(); n != null; n = n.getNextSibling()) {
                if (n instanceof Element e) {
                    if (!"Path".equals(e.getLocalName()) || !XML_NAMESPACE.equals(e.getNamespaceURI())) {
                        throw new ApiError(400, "InvalidArgument",
                                "Unexpected element in Paths/Items: " + e.getLocalName());
                    }
                    paths.add(e.getTextContent());
                }
            }
        }
        return new ParsedBatch(callerEl == null ? null : callerEl.getTextContent(), quantity,
                List.copyOf(paths));
    }

    private static void validateBatch(ParsedBatch batch) {
        if (batch.quantity() == null) {
            throw new ApiError(400, "InvalidArgument", "Paths/Quantity is required.");
        }
        if (batch.quantity() != batch.paths().size()) {
            // CloudFront's documented code for a count that disagrees with the list.
            throw new ApiError(400, "InconsistentQuantities", "Quantity " + batch.quantity()
                    + " does not match the " + batch.paths().size() + " Path items.");
        }
        if (batch.paths().isEmpty()) {
            throw new ApiError(400, "InvalidArgument", "At least one path is required.");
        }
        if (batch.paths().size() > MAX_PATHS_PER_BATCH) {
            throw new ApiError(413, "BatchTooLarge", "Invalidation batch specified is too large: "
                    + batch.paths().size() + " paths, at most " + MAX_PATHS_PER_BATCH + ".");
        }
        // CloudFront allows 15 wildcard paths in progress per distribution: a batch with more never gets in
        if (batch.paths().stream().filter(p -> p.contains("*")).count() > MAX_WILDCARDS_IN_PROGRESS) {
            throw new ApiError(400, "TooManyInvalidationsInProgress", "Processing your request will cause you to exceed the maximum"
                    + " number of in-progress wildcard invalidations.");
        }
        for (String p : batch.paths()) {
            if (!p.startsWith("/")) {
                throw new ApiError(400, "InvalidArgument", "Path must start with '/': " + p);
            }
            // as CloudFront answers a raw tilde (aws/aws-sdk#525) and a wildcard anywhere but at the end
            if (p.contains("~") || p.indexOf('*') >= 0 && p.indexOf('*') != p.length() - 1) {
                throw new ApiError(400, "InvalidArgument", "Your request contains one or more invalid invalidation paths.");
            }
        }
        if (batch.callerReference() == null || batch.callerReference().isBlank()) {
            throw new ApiError(400, "InvalidArgument", "CallerReference must not be empty.");
        }
    }

    private static Element child(Element parent, String localName) {
        for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e && localName.equals(e.getLocalName())
                    && XML_NAMESPACE.equals(e.getNamespaceURI())) {
                return e;
            }
        }
        return null;
    }

    private String newInvalidationId() {
        while (true) {
            StringBuilder sb = new StringBuilder("I");
            for (int i = 0; i < 13; i++) {
                sb.append(ID_ALPHABET.charAt(random.nextInt(ID_ALPHABET.length())));
            }
            String id = sb.toString();
            if (!invalidationsById.containsKey(id)) {
                return id;
            }
        }
    }

    private static String invalidationXml(StoredInvalidation inv) {
        StringBuilder xml = new StringBuilder()
                .append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
                .append("<Invalidation xmlns=\"").append(XML_NAMESPACE).append("\">")
                .append("<Id>").append(inv.id).append("</Id>")
                .append("<Status>").append(inv.completed ? "Completed" : "InProgress").append("</Status>")
                .append("<CreateTime>").append(ISO_MILLIS.format(inv.createTime)).append("</CreateTime>")
                .append("<InvalidationBatch><Paths><Quantity>").append(inv.paths.size())
                .append("</Quantity><Items>");
        for (String p : inv.paths) {
            xml.append("<Path>").append(escape(p)).append("</Path>");
        }
        return xml.append("</Items></Paths><CallerReference>").append(escape(inv.callerReference))
                .append("</CallerReference></InvalidationBatch></Invalidation>")
                .toString();
    }

    private static ResponseDefinition error(int status, String code, String message) {
        String requestId = UUID.randomUUID().toString();
        String body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                + "<ErrorResponse xmlns=\"" + XML_NAMESPACE + "\"><Error>"
                + "<Type>" + (status >= 500 ? "Receiver" : "Sender") + "</Type>"
                + "<Code>" + escape(code) + "</Code>"
                + "<Message>" + escape(message) + "</Message>"
                + "</Error><RequestId>" + requestId + "</RequestId></ErrorResponse>";
        return aResponse()
                .withStatus(status)
                .withHeader("Content-Type", "text/xml")
                .withHeader("x-amz-request-id", requestId)
                .withBody(body)
                .build();
    }

    private static String escape(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder out = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            switch (c) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&apos;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }
}
