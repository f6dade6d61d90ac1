package mx.prep.difusor.unpack;

import java.util.ArrayList;
import java.util.List;

/**
 * The {@code href}s of the {@code <base>} tags in an index.html, read in one pass over the text. Regular expressions
 * did this before: a page of "{@code <base x}" repeated, within the 1 MiB read, kept one busy for minutes (a lazy
 * group retried from every {@code <base} to the next {@code >}), on the thread that polls the institute.
 */
final class BaseTags {

    private BaseTags() {
    }

    /**
     * Every {@code href=value} inside a {@code <base ...>} tag of the text, in order. A tag runs to the next {@code >}
     * whatever the quotes, and every {@code href} after white space in it counts, also one in another attribute's
     * value: which one a browser takes is an HTML parser's call, and each must stay on the site.
     */
    static List<String> hrefs(CharSequence html) {
        List<String> hrefs = new ArrayList<>();
        int n = html.length();
        int scannedTo = 0;
        int end = -1;
        for (int at = indexOf(html, "<base", 0, n); at >= 0; at = indexOf(html, "<base", at + 1, n)) {
            int attributes = at + "<base".length();
            if (attributes >= n || !Character.isWhitespace(html.charAt(attributes))) {
                continue; // <basefont>, "a<baseLength": no base tag
            }
            if (end < attributes) {
                // tags without a ">" between them share the next one: looked for once
                end = indexOf(html, ">", attributes, n);
                end = end < 0 ? n : end;
            }
            // a tag that starts inside the last one ends where it ends: its hrefs were read with it
            int from = Math.max(attributes, scannedTo);
            for (int h = indexOf(html, "href", from, end); h >= 0; h = indexOf(html, "href", h + 1, end)) {
                if (Character.isWhitespace(html.charAt(h - 1))) {
                    String value = valueAfter(html, h + "href".length());
                    if (value != null) {
                        hrefs.add(value);
                    }
                }
            }
            scannedTo = Math.max(scannedTo, end);
        }
        return hrefs;
    }

    /** The value of {@code =value} at {@code i} (white space around the "=" allowed), or null if there is none. */
    private static String valueAfter(CharSequence html, int i) {
        int n = html.length();
        while (i < n && Character.isWhitespace(html.charAt(i))) {
            i++;
        }
        if (i >= n || html.charAt(i) != '=') {
            return null;
        }
        i++;
        while (i < n && Character.isWhitespace(html.charAt(i))) {
            i++;
        }
        if (i >= n) {
            return null;
        }
        char quote = html.charAt(i);
        if (quote == '"' || quote == '\'') {
            int close = indexOf(html, String.valueOf(quote), i + 1, n);
            return html.subSequence(i + 1, close < 0 ? n : close).toString();
        }
        int start = i;
        while (i < n && !Character.isWhitespace(html.charAt(i)) && html.charAt(i) != '>') {
            i++;
        }
        return i > start ? html.subSequence(start, i).toString() : null;
    }

    /**
     * The text with what a browser never takes a {@code <base>} from blanked out: comments, scripts, styles and
     * templates (a base left commented out by a build template came first in the text, before the real one). An
     * unclosed one runs to the end.
     */
    static String outsideCommentsAndScripts(String html) {
        StringBuilder markup = new StringBuilder(html.length());
        int n = html.length();
        int i = 0;
        while (i < n) {
            int skipTo = -1;
            if (html.startsWith("<!--", i)) {
                if (html.startsWith(">", i + 4)) {
                    skipTo = i + 5;
                } else if (html.startsWith("->", i + 4)) {
                    skipTo = i + 6;
                } else {
                    int dashes = html.indexOf("--", i + 4);
                    while (dashes >= 0 && !html.startsWith("-->", dashes) && !html.startsWith("--!>", dashes)) {
                        dashes = html.indexOf("--", dashes + 1);
                    }
                    skipTo = dashes < 0 ? n : dashes + (html.startsWith("-->", dashes) ? 3 : 4);
                }
            } else if (html.charAt(i) == '<') {
                for (String element : new String[] {"script", "style", "template"}) {
                    int after = i + 1 + element.length();
                    if (html.regionMatches(true, i + 1, element, 0, element.length()) && (after >= n || !isWordChar(html.charAt(after)))) {
                        int close = indexOf(html, "</" + element, after, n);
                        int gt = close < 0 ? -1 : html.indexOf('>', close);
                        skipTo = gt < 0 ? n : gt + 1;
                        break;
                    }
                }
            }
            if (skipTo >= 0) {
                markup.append(' ');
                i = skipTo;
            } else {
                markup.append(html.charAt(i));
                i++;
            }
        }
        return markup.toString();
    }

    private static boolean isWordChar(char c) {
        return c == '_' || c < 128 && Character.isLetterOrDigit(c);
    }

    /** {@code what} (lower-case ASCII) starting in {@code text} from {@code from} to before {@code to}, ignoring case; or -1. */
    private static int indexOf(CharSequence text, String what, int from, int to) {
        int last = Math.min(text.length() - what.length(), to - 1);
        char first = what.charAt(0);
        for (int i = Math.max(0, from); i <= last; i++) {
            char c = text.charAt(i);
            if ((c == first || Character.toLowerCase(c) == first) && matchesAt(text, what, i)) {
                return i;
            }
        }
        return -1;
    }

    private static boolean matchesAt(CharSequence text, String what, int at) {
        for (int k = 1; k < what.length(); k++) {
            char c = text.charAt(at + k);
            if (c != what.charAt(k) && Character.toLowerCase(c) != what.charAt(k)) {
                return false;
            }
        }
        return true;
    }
}
