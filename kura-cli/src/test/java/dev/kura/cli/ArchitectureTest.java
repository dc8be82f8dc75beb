package dev.kura.cli;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The module boundaries, enforced by the build: kura-cli's tests see every module's main classes
 * (kura-cli depends on all of them), so this is where they are checked.
 *
 * <ul>
 *   <li>A module's {@code internal} packages are used only by that module: any other module,
 *       kura-bench included, goes through the public API packages. The module of a class is the
 *       Maven module its class file comes from (its {@code target/classes} or jar), so a module
 *       added later is covered without touching this test.</li>
 *   <li>Layers, by package pattern so that new classes and modules keep to them:
 *       {@code io <- cache <- s3 / tftp <- cli}, with {@code config} beside (anyone may use it; it
 *       uses no other module), {@code net} (Netty transport selection) below s3 and tftp,
 *       {@code s3.embedded} (the demo origin) used only by cli and bench, and {@code bench} using
 *       any module but cli.</li>
 * </ul>
 *
 * <p>Test classes are left out: a module's tests may reach into its own internals, and kura-io's
 * test-jar fixtures are shared with kura-cache's tests on purpose.
 */
class ArchitectureTest {
    private static final String INTERNAL = ".internal";
    /** {@code .../kura-cache/target/classes/...} or {@code .../kura-cache/target/kura-cache-0.1.0-SNAPSHOT.jar}. */
    private static final Pattern IN_REACTOR = Pattern.compile("/(kura-[a-z0-9-]+)/target/");
    /** {@code .../lib/kura-cache-0.1.0-SNAPSHOT.jar} (a jar outside a module's target directory). */
    private static final Pattern JAR = Pattern.compile("/(kura-[a-z0-9-]+?)-\\d[^/]*\\.jar");

    private static JavaClasses kura;

    @BeforeAll
    static void importMainClasses() {
        kura = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.kura");
    }

    /** The guard against a vacuous pass: the classes of every module are really there. */
    @Test
    void everyModuleIsImported() {
        assertThat(kura.stream().map(c -> moduleOf(c).orElse("?")).distinct())
                .contains("kura-io", "kura-config", "kura-cache", "kura-s3", "kura-s3-embedded", "kura-tftp",
                        "kura-bench", "kura-cli")
                .doesNotContain("?");
    }

    @Test
    void internalPackagesAreUsedOnlyByTheirOwnModule() {
        internalsStayHome().check(kura);
    }

    @Test
    void lowerLayersDoNotDependOnHigherOnes() {
        layers().check(kura);
    }

    static ArchRule internalsStayHome() {
        return classes().should(new ArchCondition<JavaClass>("use only their own module's internal packages") {
            @Override
            public void check(JavaClass from, ConditionEvents events) {
                Optional<String> mine = moduleOf(from);
                for (Dependency d : from.getDirectDependenciesFromSelf()) {
                    JavaClass to = d.getTargetClass();
                    if (!isInternal(to.getPackageName())) {
                        continue;
                    }
                    Optional<String> theirs = moduleOf(to);
                    if (theirs.isPresent() && !theirs.equals(mine)) {
                        events.add(SimpleConditionEvent.violated(d, mine.orElse("?") + " uses " + theirs.get()
                                + "'s internal class: " + d.getDescription()));
                    }
                }
            }
        }).allowEmptyShould(false);
    }

    static ArchRule layers() {
        DescribedPredicate<JavaClass> s3 = new DescribedPredicate<>("dev.kura.s3.. but not dev.kura.s3.embedded..") {
            @Override
            public boolean test(JavaClass c) {
                String p = c.getPackageName();
                return (p.equals("dev.kura.s3") || p.startsWith("dev.kura.s3.")) && !inPackage(p, "dev.kura.s3.embedded");
            }
        };
        return layeredArchitecture().consideringOnlyDependenciesInLayers()
                .layer("io").definedBy("dev.kura.io..")
                .layer("config").definedBy("dev.kura.config..")
                .optionalLayer("net").definedBy("dev.kura.net..")
                .layer("cache").definedBy("dev.kura.cache..")
                .layer("s3").definedBy(s3)
                .layer("s3-embedded").definedBy("dev.kura.s3.embedded..")
                .layer("tftp").definedBy("dev.kura.tftp..")
                .layer("bench").definedBy("dev.kura.bench..")
                .layer("cli").definedBy("dev.kura.cli..")
                .whereLayer("io").mayNotAccessAnyLayer()
                .whereLayer("config").mayNotAccessAnyLayer()
                .whereLayer("net").mayOnlyAccessLayers("io", "config")
                .whereLayer("cache").mayOnlyAccessLayers("io", "config")
                .whereLayer("s3").mayOnlyAccessLayers("cache", "io", "config", "net")
                .whereLayer("tftp").mayOnlyAccessLayers("cache", "io", "config", "net")
                .whereLayer("s3-embedded").mayNotAccessAnyLayer()
                .whereLayer("bench").mayOnlyAccessLayers("io", "config", "net", "cache", "s3", "tftp", "s3-embedded")
                .whereLayer("cli").mayNotBeAccessedByAnyLayer();
    }

    private static boolean isInternal(String pkg) {
        return pkg.contains(INTERNAL + ".") || pkg.endsWith(INTERNAL);
    }

    private static boolean inPackage(String pkg, String root) {
        return pkg.equals(root) || pkg.startsWith(root + ".");
    }

    /** The Maven module (artifactId) a class file was loaded from, if it is a kura module. */
    static Optional<String> moduleOf(JavaClass c) {
        return c.getSource().flatMap(s -> {
            String uri = s.getUri().toString();
            for (Pattern p : new Pattern[] {IN_REACTOR, JAR}) {
                Matcher m = p.matcher(uri);
                if (m.find()) {
                    return Optional.of(m.group(1));
                }
            }
            return Optional.empty();
        });
    }
}
