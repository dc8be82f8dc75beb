package dev.kura.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.deser.std.StdScalarDeserializer;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Binds a YAML file to Java records, strictly.
 *
 * <p>The systems kura replaces ignored unknown keys, so a typo ({@code max_size} for
 * {@code max-size}) silently fell back to a default. Here every problem stops start-up with a
 * {@link ConfigException} naming the file, line and key: an unknown key (the known ones are listed),
 * a wrong type, a value a record's compact constructor rejects (it throws
 * {@link IllegalArgumentException}; the message should name the key), a duplicate key, or an
 * {@code ${ENV}} reference to an unset variable.
 *
 * <h2>Conventions</h2>
 * <ul>
 *   <li>Keys are kebab-case and bind to camelCase record components ({@code max-item-size} to
 *       {@code maxItemSize}). A missing key binds to null, 0 or false; records fill defaults in
 *       their compact constructors.</li>
 *   <li>{@code ${NAME}} in the text is replaced by the environment variable NAME,
 *       {@code ${NAME:-default}} falls back to {@code default}, and {@code $${} writes a literal
 *       {@code ${}. Substitution is textual and line-preserving, so reported lines stay right.</li>
 *   <li>Sizes are {@link DataSize}; {@link Duration}s are written {@code 30s}, {@code 250ms},
 *       {@code 5m} (see {@link Durations}); enums match case-insensitively.</li>
 * </ul>
 *
 * <p>Thread-safety: stateless; safe for concurrent use.
 */
public final class ConfigLoader {
    private static final Pattern ENV = Pattern.compile("\\$(\\$?)\\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?}");

    private ConfigLoader() {
    }

    /**
     * Reads and binds {@code file}.
     *
     * @throws ConfigException for any problem in the file, or when it cannot be read
     */
    public static <T> T load(Path file, Class<T> rootType) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new ConfigException(file.toString(), 0, "", "cannot read config file: " + e, e);
        }
        return parse(text, file.getFileName().toString(), rootType, System::getenv);
    }

    /** Binds YAML text; {@code sourceName} is used in error messages. */
    public static <T> T parse(String yaml, String sourceName, Class<T> rootType) {
        return parse(yaml, sourceName, rootType, System::getenv);
    }

    /** Binds YAML text with the environment given by {@code env} (for tests). */
    public static <T> T parse(String yaml, String sourceName, Class<T> rootType, Function<String, String> env) {
        String text = interpolate(yaml, sourceName, env);
        ObjectMapper mapper = mapper();
        Map<String, Integer> lines = keyLines(mapper, text);
        try {
            com.fasterxml.jackson.databind.JsonNode tree = mapper.readTree(text);
            boolean empty = tree == null || tree.isMissingNode() || tree.isNull();
            return mapper.readValue(empty ? "{}" : text, rootType);
        } catch (JsonProcessingException e) {
            throw translate(e, sourceName, lines);
        }
    }

    /** The mapper kura's config files are read with. */
    public static ObjectMapper mapper() {
        SimpleModule m = new SimpleModule("kura-config");
        m.addDeserializer(Duration.class, new StdScalarDeserializer<>(Duration.class) {
            @Override
            public Duration deserialize(JsonParser p, com.fasterxml.jackson.databind.DeserializationContext ctx) throws IOException {
                if (p.currentToken().isNumeric()) {
                    throw InvalidFormatException.from(p, "a duration needs a unit (ns, us, ms, s, m, h, d), e.g. 30s",
                            p.getText(), Duration.class);
                }
                if (p.currentToken() != JsonToken.VALUE_STRING) {
                    return (Duration) ctx.handleUnexpectedToken(Duration.class, p);
                }
                try {
                    return Durations.parse(p.getText());
                } catch (IllegalArgumentException e) {
                    throw InvalidFormatException.from(p, e.getMessage(), p.getText(), Duration.class);
                }
            }
        });
        return YAMLMapper.builder(new YAMLFactory())
                .propertyNamingStrategy(PropertyNamingStrategies.KEBAB_CASE)
                .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS)
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
                .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .addModule(m)
                .build();
    }

    static String interpolate(String yaml, String source, Function<String, String> env) {
        StringBuilder out = new StringBuilder(yaml.length());
        String[] rows = yaml.split("\n", -1);
        for (int i = 0; i < rows.length; i++) {
            Matcher mt = ENV.matcher(rows[i]);
            StringBuilder row = new StringBuilder();
            while (mt.find()) {
                String rep;
                if (!mt.group(1).isEmpty()) {
                    rep = mt.group(0).substring(1); // $${X} -> ${X}
                } else {
                    String v = env.apply(mt.group(2));
                    if (v == null) {
                        v = mt.group(3);
                    }
                    if (v == null) {
                        throw new ConfigException(source, i + 1, "", "environment variable " + mt.group(2)
                                + " is not set (write ${" + mt.group(2) + ":-default} to give a default)", null);
                    }
                    if (v.contains("\n")) {
                        throw new ConfigException(source, i + 1, "", "environment variable " + mt.group(2)
                                + " contains a newline", null);
                    }
                    rep = v;
                }
                mt.appendReplacement(row, Matcher.quoteReplacement(rep));
            }
            mt.appendTail(row);
            out.append(row);
            if (i < rows.length - 1) {
                out.append('\n');
            }
        }
        return out.toString();
    }

    /** JSON pointer of every key (e.g. {@code /serve/buckets/0/region}) to its 1-based line. */
    private static Map<String, Integer> keyLines(ObjectMapper mapper, String text) {
        Map<String, Integer> lines = new HashMap<>();
        try (JsonParser p = mapper.getFactory().createParser(text)) {
            JsonToken t;
            while ((t = p.nextToken()) != null) {
                if (t == JsonToken.FIELD_NAME) {
                    lines.putIfAbsent(p.getParsingContext().pathAsPointer().toString(), p.currentTokenLocation().getLineNr());
                } else if (t == JsonToken.START_OBJECT || t == JsonToken.START_ARRAY) {
                    JsonLocation loc = p.currentTokenLocation();
                    String ptr = p.getParsingContext().getParent() == null ? "" : p.getParsingContext().getParent().pathAsPointer().toString();
                    lines.putIfAbsent(ptr, loc.getLineNr());
                }
            }
        } catch (IOException e) {
            // a syntax error: binding reports it with its location
        }
        return lines;
    }

    private static ConfigException translate(JsonProcessingException e, String source, Map<String, Integer> lines) {
        int line = e.getLocation() != null ? e.getLocation().getLineNr() : 0;
        if (!(e instanceof JsonMappingException jm)) {
            return new ConfigException(source, line, "", "not valid YAML: " + e.getOriginalMessage(), e);
        }
        List<JsonMappingException.Reference> path = jm.getPath();
        String key = keyPath(path);
        String pointer = pointer(path);
        Integer keyLine = lines.get(pointer);
        if (keyLine != null) {
            line = keyLine;
        }
        return switch (e) {
            case UnrecognizedPropertyException u -> new ConfigException(source, line, key,
                    "unknown key '" + u.getPropertyName() + "'" + known(u), e);
            case ValueInstantiationException v -> {
                Throwable c = v.getCause() != null ? v.getCause() : v;
                String msg = c.getMessage() != null ? c.getMessage() : c.toString();
                // A compact constructor's message usually starts with the key it rejects: point at that key.
                String first = msg.split("[ :]", 2)[0];
                first = first.substring(first.lastIndexOf('.') + 1);
                Integer l = lines.get(pointer + "/" + first);
                yield new ConfigException(source, l != null ? l : line, key, msg, e);
            }
            case InvalidFormatException f -> new ConfigException(source, line, key,
                    "'" + f.getValue() + "' is not valid here: " + simplify(f.getOriginalMessage()), e);
            case MismatchedInputException m -> new ConfigException(source, line, key,
                    "wrong type: " + simplify(m.getOriginalMessage()), e);
            default -> new ConfigException(source, line, key, simplify(jm.getOriginalMessage()), e);
        };
    }

    private static String known(UnrecognizedPropertyException u) {
        if (u.getKnownPropertyIds() == null || u.getKnownPropertyIds().isEmpty()) {
            return "";
        }
        return " (known keys: " + u.getKnownPropertyIds().stream().map(String::valueOf).sorted()
                .collect(Collectors.joining(", ")) + ")";
    }

    private static String simplify(String msg) {
        if (msg == null) {
            return "invalid value";
        }
        // Jackson names Java types; users know YAML, so drop the package noise.
        return msg.replaceAll("`?(java\\.lang\\.|java\\.time\\.|dev\\.kura\\.[a-z.]+\\.)", "`").replace("``", "`");
    }

    static String keyPath(List<JsonMappingException.Reference> path) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference r : path) {
            if (r.getFieldName() != null) {
                if (!sb.isEmpty()) {
                    sb.append('.');
                }
                sb.append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                sb.append('[').append(r.getIndex()).append(']');
            }
        }
        return sb.toString();
    }

    private static String pointer(List<JsonMappingException.Reference> path) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference r : path) {
            if (r.getFieldName() != null) {
                sb.append('/').append(r.getFieldName().replace("~", "~0").replace("/", "~1"));
            } else if (r.getIndex() >= 0) {
                sb.append('/').append(r.getIndex());
            }
        }
        return sb.toString();
    }
}
