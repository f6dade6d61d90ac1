package mx.prep.difusor.unpack;

import java.util.ArrayList;
import java.util.List;

/**
 * The {@code href}s of the {@code <base>} tags in an index.html, read in one pass over the text. Regular expressions
 * did this before: a page of "{@code <base x}" repeated, within the 1 MiB read, kept one busy for minutes (a lazy
 * group retried from every {@code <base} to the next {@code >}), on the thread that polls the institute. Names are
 * matched in ASCII only, as HTML does: "scrıpt" is no script.
 */
final class BaseTags {

    private BaseTags() {
    }

    /**
     * Every href of a {@code <base} tag, read two ways: as a browser's tokenizer reads the tag (a quoted value may hold
     * a {@code >}; an attribute may follow a {@code /} or a closing quote), and, more suspicious, every {@code href=}
     * after white space up to the next {@code >} whatever the quotes (one inside another attribute's value too). Which
     * base a browser takes is its parser's call: each must stay on the site.
     */
    static List<String> everyHref(CharSequence html) {
        List<String> hrefs = asTheBrowserReadsThem(html);
        hrefs.addAll(afterWhiteSpace(html));
        return hrefs;
    }

    /**
     * Whether a {@code <base} tag, read as a tokenizer reads it, swallows another one that opens inside its attributes
     * (a quote it opened, or a tag that never ends). A fake {@code <base x='} in a comment or another attribute's value,
     * which no browser reads as a tag, hid the real base after it from this reading: which base counts is then a
     * parser's call, and the page is refused rather than guessed at.
     */
    static boolean hidesAnother(CharSequence html) {
        int n = html.length();
        int at = indexOf(html, "<base", 0, n);
        while (at >= 0) {
            int i = at + "<base".length();
            if (i < n && opensTag(html.charAt(i))) {
                int end = readAttributes(html, i, new ArrayList<>());
                int inside = indexOfOpening(html, i, end < 0 ? n : end);
                if (inside >= 0) {
                    return true;
                }
                i = end < 0 ? n : end;
            }
            at = indexOf(html, "<base", Math.max(i, at + 1), n);
        }
        return false;
    }

    /** The first {@code <base} from {@code from} to before {@code to} that opens a tag, or -1. */
    private static int indexOfOpening(CharSequence html, int from, int to) {
        for (int at = indexOf(html, "<base", from, to); at >= 0; at = indexOf(html, "<base", at + 1, to)) {
            int after = at + "<base".length();
            if (after >= html.length() || opensTag(html.charAt(after))) {
                return at;
            }
        }
        return -1;
    }

    private static boolean opensTag(char c) {
        return isHtmlSpace(c) || c == '/' || c == '>';
    }

    /** The hrefs of the {@code <base>} tags as an HTML tokenizer reads them. */
    static List<String> asTheBrowserReadsThem(CharSequence html) {
        List<String> hrefs = new ArrayList<>();
        int n = html.length();
        int at = indexOf(html, "<base", 0, n);
        while (at >= 0) {
            int i = at + "<base".length();
            if (i < n && (isHtmlSpace(html.charAt(i)) || html.charAt(i) == '/' || html.charAt(i) == '>')) {
                int end = readAttributes(html, i, hrefs);
                i = end < 0 ? n : end;
            }
            at = indexOf(html, "<base", Math.max(i, at + 1), n);
        }
        return hrefs;
    }

    /**
     * Whether a {@code <base} tag of the text, read as a browser's tokenizer reads it, has not ended where the text
     * ends: the rest of its attributes (an href too) lie beyond. A {@code >} inside a quoted value does not end it.
     */
    static boolean tagRunsPastTheEnd(CharSequence html) {
        int n = html.length();
        int at = indexOf(html, "<base", 0, n);
        while (at >= 0) {
            int i = at + "<base".length();
            if (i >= n) {
                return true; // the byte after "<base" that tells whether it is a tag is not in the text
            }
            if (isHtmlSpace(html.charAt(i)) || html.charAt(i) == '/' || html.charAt(i) == '>') {
                i = readAttributes(html, i, new ArrayList<>());
                if (i < 0) {
                    return true;
                }
            }
            at = indexOf(html, "<base", Math.max(i, at + 1), n);
        }
        return false;
    }

    /**
     * Reads a start tag's attributes from {@code i}, adding each href's value; returns where the tag ends, or -1 if the
     * text ends first.
     */
    private static int readAttributes(CharSequence html, int i, List<String> hrefs) {
        int n = html.length();
        while (i < n) {
            char c = html.charAt(i);
            if (isHtmlSpace(c) || c == '/') {
                i++;
                continue;
            }
            if (c == '>') {
                return i + 1;
            }
            // an attribute's name: up to white space, "/", ">" or "=" (a first "=" belongs to the name)
            int name = i;
            i++;
            while (i < n && !isHtmlSpace(html.charAt(i)) && html.charAt(i) != '/' && html.charAt(i) != '>' && html.charAt(i) != '=') {
                i++;
            }
            boolean href = i - name == 4 && matchesAt(html, "href", name);
            while (i < n && isHtmlSpace(html.charAt(i))) {
                i++;
            }
            if (i >= n || html.charAt(i) != '=') {
                continue; // no value; the next attribute (or the end) starts here
            }
            i++;
            while (i < n && isHtmlSpace(html.charAt(i))) {
                i++;
            }
            int start;
            int end;
            if (i < n && (html.charAt(i) == '"' || html.charAt(i) == '\'')) {
                char quote = html.charAt(i);
                start = i + 1;
                end = start;
                while (end < n && html.charAt(end) != quote) {
                    end++;
                }
                i = Math.min(n, end + 1); // right after the quote a new attribute may start, space or not
            } else {
                start = i;
                end = i;
                while (end < n && !isHtmlSpace(html.charAt(end)) && html.charAt(end) != '>') {
                    end++;
                }
                i = end;
            }
            if (href) {
                hrefs.add(html.subSequence(start, end).toString());
            }
        }
        return -1;
    }

    /**
     * Every {@code href=value} inside a {@code <base ...>} tag of the text, in order. A tag runs to the next {@code >}
     * whatever the quotes, and every {@code href} after white space, a "/" or a quote in it counts, also one in another
     * attribute's value.
     */
    static List<String> afterWhiteSpace(CharSequence html) {
        List<String> hrefs = new ArrayList<>();
        int n = html.length();
        int scannedTo = 0;
        int end = -1;
        for (int at = indexOf(html, "<base", 0, n); at >= 0; at = indexOf(html, "<base", at + 1, n)) {
            int attributes = at + "<base".length();
            if (attributes >= n || !isSpace(html.charAt(attributes)) && html.charAt(attributes) != '/') {
                continue; // <basefont>, "a<baseLength": no base tag (<base/href=...> is one)
            }
            if (end < attributes) {
                // tags without a ">" between them share the next one: looked for once
                end = indexOf(html, ">", attributes, n);
                end = end < 0 ? n : end;
            }
            // a tag that starts inside the last one ends where it ends: its hrefs were read with it
            int from = Math.max(attributes, scannedTo);
            for (int h = indexOf(html, "href", from, end); h >= 0; h = indexOf(html, "href", h + 1, end)) {
                // after white space, a "/" or a closing quote, where a browser starts an attribute too
                char before = html.charAt(h - 1);
                if (isSpace(before) || before == '/' || before == '"' || before == '\'') {
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
        while (i < n && isSpace(html.charAt(i))) {
            i++;
        }
        if (i >= n || html.charAt(i) != '=') {
            return null;
        }
        i++;
        while (i < n && isSpace(html.charAt(i))) {
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
        while (i < n && !isSpace(html.charAt(i)) && html.charAt(i) != '>') {
            i++;
        }
        return i > start ? html.subSequence(start, i).toString() : null;
    }

    /**
     * The text with what a browser never takes a {@code <base>} from blanked out: comments, scripts, styles, templates
     * the text of a title or a textarea, and noscript, noembed, noframes, xmp and iframe, read as raw text (a base left
     * commented out by a build template came first in the text,
     * before the real one). An unclosed one runs to the end.
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
                // and the elements a browser reads as raw text: a base in a noscript is none where scripts run (an SPA)
                for (String element : new String[] {"script", "style", "template", "title", "textarea", "noscript", "noembed", "noframes",
                        "xmp", "iframe"}) {
                    int after = i + 1 + element.length();
                    if (after <= n && matchesAt(html, element, i + 1) && (after >= n || !isWordChar(html.charAt(after)))) {
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

    /** A character of a name, as the old pattern's {@code \b} saw it: "scriptá" is no script. */
    private static boolean isWordChar(char c) {
        return c == '_' || Character.isLetterOrDigit(c);
    }

    /** White space as the old patterns' {@code \s} saw it: the suspicious reading finds at least what they found. */
    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\u000B' || c == '\f' || c == '\r';
    }

    /** White space as an HTML tokenizer sees it. */
    private static boolean isHtmlSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
    }

    /** {@code what} (lower-case ASCII) starting in {@code text} from {@code from} to before {@code to}, ASCII case ignored; or -1. */
    private static int indexOf(CharSequence text, String what, int from, int to) {
        int last = Math.min(text.length() - what.length(), to - 1);
        for (int i = Math.max(0, from); i <= last; i++) {
            if (matchesAt(text, what, i)) {
                return i;
            }
        }
        return -1;
    }

    /** {@code what} (lower-case ASCII) at {@code at}, ASCII letters in either case. */
    private static boolean matchesAt(CharSequence text, String what, int at) {
        if (at + what.length() > text.length()) {
            return false;
        }
        for (int k = 0; k < what.length(); k++) {
            char c = text.charAt(at + k);
            char w = what.charAt(k);
            if (c != w && !(w >= 'a' && w <= 'z' && c == (char) (w - 32))) {
                return false;
            }
        }
        return true;
    }
}
