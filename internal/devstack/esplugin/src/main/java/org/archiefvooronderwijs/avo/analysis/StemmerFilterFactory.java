package org.archiefvooronderwijs.avo.analysis;

import java.util.List;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.snowball.SnowballFilter;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.index.IndexSettings;
import org.elasticsearch.index.analysis.AbstractTokenFilterFactory;
import org.tartarus.snowball.ext.DutchStemmer;
import org.tartarus.snowball.ext.KpStemmer;

/**
 * The {@code stemmer} filter for the languages avo's mappings use. Other languages
 * are refused with a message rather than silently left unstemmed.
 */
final class StemmerFilterFactory extends AbstractTokenFilterFactory {
    static final List<String> LANGUAGES = List.of("dutch", "dutch_kp");

    private final String language;

    StemmerFilterFactory(IndexSettings indexSettings, Environment env, String name, Settings settings) {
        super(name, settings);
        // Elasticsearch accepts the language under either key.
        String lang = settings.get("language", settings.get("name"));
        if (lang == null || LANGUAGES.contains(lang) == false) {
            throw new IllegalArgumentException(
                "stemmer filter [" + name + "]: language [" + lang + "] is not available on this node; "
                    + "the avo-analysis plugin provides " + LANGUAGES + " (a production cluster's analysis-common module provides all)"
            );
        }
        this.language = lang;
    }

    @Override
    public TokenStream create(TokenStream tokenStream) {
        if (language.equals("dutch_kp")) {
            return new SnowballFilter(tokenStream, new KpStemmer());
        }
        return new SnowballFilter(tokenStream, new DutchStemmer());
    }
}
