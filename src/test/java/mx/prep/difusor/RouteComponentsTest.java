package mx.prep.difusor;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import javax.xml.parsers.DocumentBuilderFactory;

import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * Every component a route uses ships in the jar. The tests run on the test classpath, where camel-test-main-junit5
 * brings components of its own (camel-timer among them): a route on one of those passes every test and fails to start
 * in the image.
 */
class RouteComponentsTest {

    private static final Pattern ENDPOINT = Pattern.compile("(?m)^[ \\t]*-?[ \\t]*(?:uri|to):[ \\t]*\"?([a-z0-9-]+):");

    @Test
    void everyComponentTheRoutesUseIsACompileDependency() throws Exception {
        Set<String> schemes = new TreeSet<>();
        try (Stream<Path> routes = Files.list(Path.of("routes"))) {
            for (Path route : routes.filter(p -> p.toString().endsWith(".yaml")).toList()) {
                Matcher m = ENDPOINT.matcher(Files.readString(route));
                while (m.find()) {
                    schemes.add(m.group(1));
                }
            }
        }
        assertThat(schemes).as("endpoints found in routes/*.yaml").contains("direct", "aws2-s3");

        Set<String> shipped = new TreeSet<>();
        var pom = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(Path.of("pom.xml").toFile());
        NodeList dependencies = pom.getElementsByTagName("dependency");
        for (int i = 0; i < dependencies.getLength(); i++) {
            Element d = (Element) dependencies.item(i);
            if (d.getParentNode().getParentNode() != pom.getDocumentElement()) {
                continue; // dependencyManagement or a plugin's own
            }
            String group = text(d, "groupId");
            String scope = text(d, "scope");
            if ("org.apache.camel".equals(group) && (scope == null || scope.equals("compile") || scope.equals("runtime"))) {
                shipped.add(text(d, "artifactId"));
            }
        }
        for (String scheme : schemes) {
            assertThat(shipped).as("the component of '%s:' endpoints ships in the jar", scheme).contains("camel-" + scheme);
        }
    }

    private static String text(Element parent, String tag) {
        NodeList nodes = parent.getElementsByTagName(tag);
        return nodes.getLength() == 0 ? null : nodes.item(0).getTextContent().strip();
    }
}
