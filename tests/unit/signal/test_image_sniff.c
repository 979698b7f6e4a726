/*
 * Unit tests of image_sniff: JPEG and PNG by their first bytes; text, HTML, a
 * truncated signature and an empty body are not images.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "signal/image_sniff.h"

#include <string.h>

static void images_by_their_first_bytes(void **state)
{
    (void)state;
    const uint8_t jpeg[] = {0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J', 'F', 'I', 'F'};
    const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13};
    assert_string_equal(tc_image_sniff(jpeg, sizeof jpeg), "image/jpeg");
    assert_string_equal(tc_image_sniff(png, sizeof png), "image/png");
}

static void other_bytes_are_not_images(void **state)
{
    (void)state;
    const char *html = "<html><script>alert(1)</script>";
    const uint8_t png8[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    const uint8_t jpeg2[] = {0xff, 0xd8};
    assert_null(tc_image_sniff((const uint8_t *)html, strlen(html)));
    assert_null(tc_image_sniff(png8, sizeof png8)); /* the signature alone */
    assert_null(tc_image_sniff(jpeg2, sizeof jpeg2));
    assert_null(tc_image_sniff(NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(images_by_their_first_bytes),
        cmocka_unit_test(other_bytes_are_not_images),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
