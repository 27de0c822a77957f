package org.redpacksim.junit;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A redpack-sim for the test class: started before its first test, reset before
 * each test, stopped after its last. Tests take a {@link RedpackSimServer} or a
 * {@link Control} as a parameter. The same as a static
 * {@code @RegisterExtension RedpackSimExtension} field.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@ExtendWith(RedpackSimExtension.class)
public @interface RedpackSim {
    /** Extra server settings, e.g. {@code "--journal-size=10000"}. */
    String[] args() default {};

    /** Reset before each test (back to the fixtures, no fault rules, an empty journal). */
    boolean reset() default true;
}
